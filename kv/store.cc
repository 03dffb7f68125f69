#include "kv/store.h"

namespace rocksfs::kv {

void Iterator::SkipTo(std::string_view target) {
  for (int i = 0; i < kSequentialSkips; ++i) {
    Next();
    if (!Valid() || key() >= target) return;
  }
  Seek(target);
}

void Batch::Put(ColumnFamily* cf, std::string key, std::string value) {
  bytes_ += key.size() + value.size();
  ops_.push_back({OpKind::kPut, cf, std::move(key), std::move(value)});
}

std::string Batch::TakeValue(size_t index) {
  Op& op = ops_.at(index);
  bytes_ -= op.value.size();
  return std::move(op.value);
}

void Batch::Delete(ColumnFamily* cf, std::string key) {
  bytes_ += key.size();
  ops_.push_back({OpKind::kDelete, cf, std::move(key), {}});
}

void Batch::DeleteRange(ColumnFamily* cf, std::string begin, std::string end) {
  bytes_ += begin.size() + end.size();
  ops_.push_back({OpKind::kDeleteRange, cf, std::move(begin), std::move(end)});
}

void Batch::ExpectPresent(ColumnFamily* cf, std::string key) {
  conditions_.push_back({ConditionKind::kPresent, cf, std::move(key), {}});
}

void Batch::ExpectAbsent(ColumnFamily* cf, std::string key) {
  conditions_.push_back({ConditionKind::kAbsent, cf, std::move(key), {}});
}

void Batch::ExpectRangeEmpty(ColumnFamily* cf, std::string begin, std::string end) {
  conditions_.push_back({ConditionKind::kRangeEmpty, cf, std::move(begin), std::move(end)});
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace rocksfs::kv
