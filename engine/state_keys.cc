#include "engine/state_keys.h"

#include "engine/byte_codec.h"

namespace epistream::state_keys {

std::string PartitionPrefix(uint16_t partition, char sub) {
  std::string k;
  ByteWriter w(&k);
  w.U8(kPartitioned);
  w.BigEndian16(partition);
  if (sub != 0) k.push_back(sub);
  return k;
}

std::string Partitioned(uint16_t partition, char sub, std::string_view rest) {
  std::string k = PartitionPrefix(partition, sub);
  k.append(rest);
  return k;
}

std::string Global(char sub, std::string_view rest) {
  std::string k;
  k.push_back(kGlobal);
  k.push_back(sub);
  k.append(rest);
  return k;
}

std::string Offset(std::string_view source, int32_t partition) {
  std::string k;
  k.push_back(kOffset);
  k.append(source);
  k.push_back('\0');
  ByteWriter(&k).BigEndian32(static_cast<uint32_t>(partition));
  return k;
}

std::string Meta(std::string_view name) {
  std::string k;
  k.push_back(kMeta);
  k.append(name);
  return k;
}

uint64_t OrderPrefix(std::string_view part) {
  uint64_t prefix = 0;
  for (size_t i = 0; i < 8; ++i) {
    prefix = (prefix << 8) | (i < part.size() ? static_cast<uint8_t>(part[i]) : 0);
  }
  return prefix;
}

}  // namespace epistream::state_keys
