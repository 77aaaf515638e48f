#include "operators/cluster/repartition_frame.h"

#include "engine/byte_codec.h"

namespace epistream {
namespace {

// Version 1 frames had no generation and no commits; a runner can't tell
// when they are committed, so they are rejected (dead letters).
constexpr uint8_t kFrameVersion = 2;

}  // namespace

void RepartitionFrame::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kFrameVersion);
  w.U8(static_cast<uint8_t>(type));
  w.BigEndian16(upstream);
  w.Varint(generation);
  w.Varint(seq);
  switch (type) {
    case RepartitionFrameType::kWatermark:
      w.OrderedI64(watermark);
      return;
    case RepartitionFrameType::kRecord: {
      std::string body;
      record.Encode(&body);
      out->append(body);
      return;
    }
    case RepartitionFrameType::kCommit:
    case RepartitionFrameType::kTakeover:
      return;
  }
}

Status RepartitionFrame::Decode(std::string_view bytes) {
  ByteReader r(bytes);
  if (r.U8() != kFrameVersion || !r.ok())
    return Status::Corruption("repartition frame: unknown version");
  const uint8_t t = r.U8();
  upstream = r.BigEndian16();
  generation = r.Varint();
  seq = r.Varint();
  if (!r.ok()) return Status::Corruption("repartition frame: truncated header");
  record = ClusterRecord();
  watermark = kMinTimestamp;
  switch (t) {
    case static_cast<uint8_t>(RepartitionFrameType::kWatermark):
      type = RepartitionFrameType::kWatermark;
      watermark = r.OrderedI64();
      if (!r.ok() || !r.done())
        return Status::Corruption("repartition frame: bad watermark");
      return Status::Ok();
    case static_cast<uint8_t>(RepartitionFrameType::kRecord):
      type = RepartitionFrameType::kRecord;
      return record.Decode(r.Rest());
    case static_cast<uint8_t>(RepartitionFrameType::kCommit):
    case static_cast<uint8_t>(RepartitionFrameType::kTakeover):
      type = static_cast<RepartitionFrameType>(t);
      if (!r.done())
        return Status::Corruption("repartition frame: trailing bytes");
      return Status::Ok();
    default:
      return Status::Corruption("repartition frame: unknown type");
  }
}

}  // namespace epistream
