// Progress lines and human-readable figures for the rocksfs tool.
#pragma once

#include <cstdint>
#include <string>

namespace rocksfs::tools {

// "1,234,567"
std::string FormatCount(uint64_t n);
// "512 B", "12.3 KiB", "4.5 GiB"
std::string FormatBytes(uint64_t bytes);
// "0:42", "12:03", "1:02:03"
std::string FormatDuration(double seconds);
// "2024-05-01 12:34:56" in local time
std::string FormatTime(int64_t seconds_since_epoch);

// One status line on stderr, redrawn in place when stderr is a terminal and
// silent otherwise. The caller limits the redraw rate.
class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }
  void Show(const std::string& text);
  // Erases the line, so that a message can follow.
  void Clear();

 private:
  const bool enabled_;
  bool shown_ = false;
};

}  // namespace rocksfs::tools
