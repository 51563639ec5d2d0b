#include "common/provenance.h"

#include <unistd.h>

#include <array>
#include <ctime>

#include "common/build_info.h"
#include "common/h5_file.h"

namespace cimsim {

std::string ShellQuote(const std::string& s) {
  if (s.empty()) return "''";
  bool safe = true;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
    safe = safe && ok;
  }
  if (safe) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Provenance CurrentProvenance(const std::vector<std::string>& args) {
  Provenance p;
  p.version = std::string(BuildVersion());
  p.commit = std::string(BuildCommit());
  p.build = std::string(BuildSettings());
  p.command = "cimsim";
  for (const std::string& a : args) p.command += " " + ShellQuote(a);
  std::array<char, 256> host{};
  p.host = gethostname(host.data(), host.size() - 1) == 0 ? std::string(host.data()) : "unknown";
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 32> when{};
  std::strftime(when.data(), when.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  p.time = when.data();
  return p;
}

void WriteProvenance(H5File& f, const Provenance& p) {
  f.CreateGroup("/provenance");
  f.WriteStringAttribute("/provenance", "version", p.version);
  f.WriteStringAttribute("/provenance", "commit", p.commit);
  f.WriteStringAttribute("/provenance", "build", p.build);
  f.WriteStringAttribute("/provenance", "command", p.command);
  f.WriteStringAttribute("/provenance", "host", p.host);
  f.WriteStringAttribute("/provenance", "time", p.time);
}

}  // namespace cimsim
