// Key layout of the process's one RocksDB (or in-memory) state store.
//
// Partitioned state is prefixed by 'P' + be16(partition), so moving a Kafka
// partition to another process is one range (DeleteRange / changelog restore):
//   P<part>S<person>                         person state (operators/person_state.h)
//   P<part>R<region>\0<ordered ts><person>   arrivals index for retroactive listings
//   P<part>T<ordered ts><kind><key>          event-time timers
//   P<part>W                                 watermark progress of the partition
// Global tables, held in full by every instance:
//   GA<region>                               risk-area listing history
//   GP<person>                               person registry record
// Source positions, written in the same batch as the state they produced:
//   O<source>\0<be32 partition>              next offset to read
//   M<name>                                  engine metadata (e.g. sink positions)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace epistream {

namespace state_keys {

inline constexpr char kPartitioned = 'P';
inline constexpr char kGlobal = 'G';
inline constexpr char kOffset = 'O';
inline constexpr char kMeta = 'M';

// 'P' + be16(partition) + sub.
std::string PartitionPrefix(uint16_t partition, char sub = 0);
std::string Partitioned(uint16_t partition, char sub, std::string_view rest);
std::string Global(char sub, std::string_view rest);
std::string Offset(std::string_view source, int32_t partition);
std::string Meta(std::string_view name);

// The first 8 bytes of a key part (a person id, a venue id), big-endian and
// zero-padded, so integer order is byte order: writes staged for a commit
// are sorted on it and compare the parts themselves only on ties.
uint64_t OrderPrefix(std::string_view part);

}  // namespace state_keys
}  // namespace epistream
