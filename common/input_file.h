// input_file.h — the check every loader makes before it opens a file the user named.
//
// Only a regular file (or a symbolic link to one) is opened for reading: a FIFO would block the
// open or the read forever, a device could stream without end, a directory cannot be read. The check
// is a stat(2) (std::filesystem::status), which never blocks; the message names the path, what was expected and what is there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace cimsim {

// Throws InputError "<path>: <what> not found" / "<path>: is a directory|FIFO|character device|...,
// expected <what> (a regular file)". Returns the file's size in bytes.
uint64_t RequireRegularFile(const std::string& path, const std::string& what);

// "a directory", "a FIFO (named pipe)", "a character device", ... for messages about a path.
std::string_view FileTypeName(std::filesystem::file_type type);

}  // namespace cimsim
