#include "operators/cluster/repartition_frame.h"

#include "engine/byte_codec.h"

namespace epistream {
namespace {

constexpr uint8_t kFrameVersion = 1;

}  // namespace

void RepartitionFrame::Encode(std::string* out) const {
  out->clear();
  ByteWriter w(out);
  w.U8(kFrameVersion);
  w.U8(static_cast<uint8_t>(type));
  w.BigEndian16(upstream);
  w.Varint(seq);
  if (type == RepartitionFrameType::kWatermark) {
    w.OrderedI64(watermark);
    return;
  }
  std::string body;
  record.Encode(&body);
  out->append(body);
}

Status RepartitionFrame::Decode(std::string_view bytes) {
  ByteReader r(bytes);
  if (r.U8() != kFrameVersion || !r.ok())
    return Status::Corruption("repartition frame: unknown version");
  const uint8_t t = r.U8();
  upstream = r.BigEndian16();
  seq = r.Varint();
  if (!r.ok()) return Status::Corruption("repartition frame: truncated header");
  switch (t) {
    case static_cast<uint8_t>(RepartitionFrameType::kWatermark):
      type = RepartitionFrameType::kWatermark;
      watermark = r.OrderedI64();
      if (!r.ok() || !r.done())
        return Status::Corruption("repartition frame: bad watermark");
      record = ClusterRecord();
      return Status::Ok();
    case static_cast<uint8_t>(RepartitionFrameType::kRecord):
      type = RepartitionFrameType::kRecord;
      watermark = kMinTimestamp;
      return record.Decode(r.Rest());
    default:
      return Status::Corruption("repartition frame: unknown type");
  }
}

}  // namespace epistream
