#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/input_file.h"

namespace cimsim {

namespace fs = std::filesystem;

namespace {

bool IsHidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

void RequireDirectory(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw InputError(root + ": dataset folder not found");
  if (!fs::is_directory(root, ec)) throw InputError(root + ": not a directory; give the folder that holds one folder per class");
}

}  // namespace

bool HasImageExtension(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : {".jpg", ".jpeg", ".png"}) {
    const size_t n = std::char_traits<char>::length(ext);
    if (lower.size() > n && lower.compare(lower.size() - n, n, ext) == 0) return true;
  }
  return false;
}

ImageFolder ScanImageFolder(const std::string& root) {
  RequireDirectory(root);
  ImageFolder set;
  set.root = root;
  std::vector<fs::path> class_dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(root)) {
    if (IsHidden(e.path())) continue;
    if (e.is_directory()) {
      class_dirs.push_back(e.path());
    } else {
      ++set.ignored;
    }
  }
  std::sort(class_dirs.begin(), class_dirs.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  if (class_dirs.empty()) throw InputError(root + ": no class folders; expected ROOT/<class>/<image>.JPEG (docs/data.md)");
  for (size_t label = 0; label < class_dirs.size(); ++label) {
    std::vector<std::string> images;
    fs::recursive_directory_iterator it(class_dirs[label], fs::directory_options::follow_directory_symlink);
    for (; it != fs::recursive_directory_iterator(); ++it) {
      if (IsHidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_directory()) continue;
      if (HasImageExtension(it->path().filename().string())) {
        images.push_back(it->path().string());
      } else {
        ++set.ignored;
      }
    }
    if (images.empty())
      throw InputError(class_dirs[label].string() + ": class folder without images (.jpg, .jpeg or .png)");
    std::sort(images.begin(), images.end());
    set.classes.push_back(class_dirs[label].filename().string());
    for (std::string& p : images) set.items.push_back({std::move(p), static_cast<int>(label)});
  }
  return set;
}

ImageFolder ReadImageList(const std::string& root, const std::string& list_file) {
  RequireDirectory(root);
  RequireRegularFile(list_file, "image list");
  std::ifstream in(list_file);
  ImageFolder set;
  set.root = root;
  std::string line;
  int max_label = -1;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const size_t cut = line.find_last_of(" \t");
    const std::string where = list_file + ":" + std::to_string(number) + ": ";
    if (cut == std::string::npos || cut < start)
      throw InputError(where + "expected \"<path below the dataset folder> <class index>\", got \"" + line + "\"");
    const std::string rel = line.substr(start, line.find_last_not_of(" \t", cut) - start + 1);
    const std::string label_text = line.substr(cut + 1);
    int64_t label = -1;
    if (!label_text.empty() && label_text.size() <= 9 &&
        std::all_of(label_text.begin(), label_text.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
      label = std::stoll(label_text);
    if (label < 0) throw InputError(where + "the class index \"" + label_text + "\" is not an integer in 0..999999999");
    const std::string path = (fs::path(root) / rel).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw InputError(where + path + ": listed image not found");
    set.items.push_back({path, static_cast<int>(label)});
    max_label = std::max(max_label, static_cast<int>(label));
  }
  if (set.items.empty()) throw InputError(list_file + ": lists no image");
  for (int c = 0; c <= max_label; ++c) set.classes.push_back(std::to_string(c));
  return set;
}

}  // namespace cimsim
