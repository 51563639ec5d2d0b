// training_log.h — the per-epoch log of `cimsim train` and `cimsim qat` in the --out directory.
//
//   DIR/log.jsonl  one JSON object per completed (checkpointed) epoch, appended when the epoch ends:
//                  epoch (1-based), loss (mean training loss over the epoch's images), train_accuracy
//                  and test_accuracy (%), lr (the rate of the epoch's last step), seconds (wall time of
//                  the epoch with its test pass), images_per_s (training images per second);
//   DIR/log.csv    the same table for spreadsheets, pandas and plot scripts: a header line with
//                  kTrainingLogColumns, then one line per epoch, each number exactly as log.jsonl
//                  writes it (the shortest text that reads back as the same double).
// log.csv is rewritten whole and atomically from log.jsonl after every change of it, so the two always
// hold the same epochs, also after a kill and --resume (which first truncates log.jsonl to the
// checkpointed epochs). scripts/plot_training.py draws the curves of one or several runs.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cimsim {

inline constexpr std::array<std::string_view, 7> kTrainingLogColumns = {
    "epoch", "loss", "train_accuracy", "test_accuracy", "lr", "seconds", "images_per_s"};

// A new run: empty log.jsonl, log.csv with its header only.
void StartTrainingLog(const std::string& dir);
// A resumed run: keeps the first `epochs` lines of log.jsonl (the checkpointed epochs), then log.csv.
void TruncateTrainingLog(const std::string& dir, int epochs);
// One epoch's record (an object with every column of kTrainingLogColumns), then log.csv.
void AppendTrainingLog(const std::string& dir, const nlohmann::json& record);

// The CSV text of JSON-lines text. `source` names the log in errors: InputError "<source>: line N: …"
// for a line that is not a JSON object with a number in every column.
std::string TrainingLogCsv(const std::string& jsonl, const std::string& source);

}  // namespace cimsim
