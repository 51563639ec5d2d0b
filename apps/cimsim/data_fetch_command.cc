// cimsim data fetch — download, verify (SHA-256) and unpack the CIFAR-10 binary archive.
#include <boost/program_options.hpp>
#include <iostream>
#include <memory>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "common/progress.h"
#include "data/fetch.h"

namespace cimsim::cli {
namespace po = boost::program_options;

int DataFetchCommand(const std::vector<std::string>& args) {
  std::string url, sha256, out_dir;
  po::options_description desc(
      "cimsim data fetch: download, verify and unpack the CIFAR-10 binary archive\n"
      "usage: cimsim data fetch --url URL --sha256 HEX --out DIR\n"
      "(the official archive is cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html;\n"
      " DIR/cifar-10-batches-bin then holds data_batch_1..5.bin and test_batch.bin)\noptions");
  desc.add_options()("help,h", "show this help")("url", po::value(&url)->required(), "archive URL (http or https)")(
      "sha256", po::value(&sha256)->required(), "expected SHA-256 of the archive, 64 hex digits")(
      "out", po::value(&out_dir)->required(), "directory to unpack into");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  CheckOutputDirectory("--out", out_dir);
  std::unique_ptr<Progress> progress;
  int64_t reported = 0;
  const FetchResult result = FetchCifar10(url, sha256, out_dir, [&](int64_t done, int64_t total) {
    if (!progress) progress = std::make_unique<Progress>(Progress::ToStderr("download (bytes)", total));
    progress->Add(done - reported);
    reported = done;
  });
  if (progress) progress->Finish();
  std::cout << "fetched " << result.bytes << " bytes, sha256 " << result.sha256 << "\n"
            << "data directory " << result.data_dir << " (" << result.files.size() << " files)\n"
            << "use it with --data " << result.data_dir << " or CIMSIM_DATA=" << result.data_dir << "\n";
  return 0;
}

}  // namespace cimsim::cli
