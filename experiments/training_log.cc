#include "experiments/training_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/storage_error.h"

namespace cimsim {
namespace {

std::string JsonlPath(const std::string& dir) { return (std::filesystem::path(dir) / "log.jsonl").string(); }
std::string CsvPath(const std::string& dir) { return (std::filesystem::path(dir) / "log.csv").string(); }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) throw InputError("cannot read " + path + StorageFailureReason());
  return ss.str();
}

void WriteCsv(const std::string& dir) {
  const std::string jsonl = JsonlPath(dir);
  WriteFileAtomically(CsvPath(dir), TrainingLogCsv(ReadText(jsonl), jsonl));
}

}  // namespace

std::string TrainingLogCsv(const std::string& jsonl, const std::string& source) {
  std::string csv;
  for (const std::string_view column : kTrainingLogColumns) {
    if (!csv.empty()) csv += ',';
    csv += column;
  }
  csv += '\n';
  std::istringstream in(jsonl);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = source + ": line " + std::to_string(number) + ": ";
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where + "not JSON (" + e.what() + ")");
    }
    if (!record.is_object()) throw InputError(where + "not a JSON object");
    std::string row;
    for (const std::string_view column : kTrainingLogColumns) {
      const auto it = record.find(std::string(column));
      if (it == record.end() || !it->is_number())
        throw InputError(where + "no number for '" + std::string(column) + "'");
      if (!row.empty()) row += ',';
      row += it->dump();
    }
    csv += row;
    csv += '\n';
  }
  return csv;
}

void StartTrainingLog(const std::string& dir) {
  WriteFileAtomically(JsonlPath(dir), "");
  WriteCsv(dir);
}

void TruncateTrainingLog(const std::string& dir, int epochs) {
  const std::string path = JsonlPath(dir);
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    std::string line;
    while (static_cast<int>(lines.size()) < epochs && std::getline(in, line)) lines.push_back(line);
  }
  std::string text;
  for (const std::string& l : lines) text += l + '\n';
  WriteFileAtomically(path, text);
  WriteCsv(dir);
}

void AppendTrainingLog(const std::string& dir, const nlohmann::json& record) {
  const std::string path = JsonlPath(dir);
  {
    std::ofstream out(path, std::ios::app);
    out << record.dump() << '\n';
    out.flush();
    if (!out) throw InputError("cannot append to " + path + StorageFailureReason());
  }
  WriteCsv(dir);
}

}  // namespace cimsim
