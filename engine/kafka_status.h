// The one boundary between librdkafka's error currency and epistream::Status.
//
// Every librdkafka call in engine/ reports through these functions, so the
// mapping below is the whole policy:
//   transport, timeouts, leader/coordinator moves, full queues -> Unavailable
//                                       (the broker or cluster is, for now, not
//                                       usable: wait and retry)
//   offset out of range, auto offset reset               -> OutOfRange
//                                       (a stored offset is no longer on the
//                                       broker: data was lost to retention)
//   unknown topic or partition                           -> NotFound
//   bad config, bad argument, message too large          -> InvalidArgument
//   corrupt or undecodable messages                      -> Corruption
//   fatal/fenced/illegal-state/sequence errors           -> Internal
//   everything else (authorization, broker-side refusals) -> IoError
//
// Also here: owning handles for librdkafka objects and a checked conf setter,
// so no .cc file frees a librdkafka object or sets a property by hand.
// All functions are thread-safe (pure, or only touch the object passed in).
#pragma once

#include <librdkafka/rdkafka.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace epistream {

// The StatusCode the policy above assigns to `err` (kOk for NO_ERROR).
StatusCode KafkaErrorCode(rd_kafka_resp_err_t err);

// Status for `err`; the message is "<context>: <err name>: <description>".
// Returns Ok for RD_KAFKA_RESP_ERR_NO_ERROR.
Status KafkaStatus(rd_kafka_resp_err_t err, std::string_view context);

// As above with librdkafka's own error string (errstr buffers, message
// payload of an error message) appended when not empty.
Status KafkaStatus(rd_kafka_resp_err_t err, std::string_view context,
                   std::string_view detail);

// Converts and destroys an rd_kafka_error_t (nullptr -> Ok). Fatal errors
// map to Internal whatever their code; retriable ones to Unavailable.
Status KafkaErrorStatus(rd_kafka_error_t* error, std::string_view context);

// Deleters and owning handles.
struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(const rd_kafka_metadata_t* m) const {
    rd_kafka_metadata_destroy(m);
  }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using KafkaPartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, RdKafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, RdKafkaDeleter>;
using KafkaMetadata =
    std::unique_ptr<const rd_kafka_metadata_t, RdKafkaDeleter>;

// Sets one property; an unknown key or bad value is InvalidArgument naming
// the key (values are not echoed: they may be secrets such as SASL passwords).
Status KafkaConfSet(rd_kafka_conf_t* conf, const std::string& key,
                    const std::string& value);

// Sets every property of `props` in order (later calls override earlier ones,
// so apply user properties last only where the user may override).
Status KafkaConfSetAll(rd_kafka_conf_t* conf,
                       const std::map<std::string, std::string>& props);

// Creates a client of `type`, taking ownership of `conf` in all cases.
Result<KafkaHandle> KafkaCreate(rd_kafka_type_t type, KafkaConf conf);

// Creates a producer the engine writes with: `defaults`, then lz4 when built
// in, then the user's `overrides`, then enable.idempotence=true whatever was
// set (in order and without duplicates from internal retries: exactly-once
// output and changelog markers rely on it). Logs through spdlog; `opaque`,
// `dr_msg_cb` and `error_cb` (nullable) are installed on the client.
Result<KafkaHandle> KafkaCreateIdempotentProducer(
    std::map<std::string, std::string> defaults,
    const std::map<std::string, std::string>& overrides, void* opaque,
    void (*dr_msg_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*),
    void (*error_cb)(rd_kafka_t*, int, const char*, void*));

// Asks the cluster to create `topic` with `partitions` and the topic-level
// `config` (CreateTopics, waiting up to timeout_ms + 1 s for the answer).
// Best effort: an error (it exists, or a broker without the API such as the
// embedded one) is only logged at debug level; callers read the metadata
// afterwards to learn what there is.
void KafkaTryCreateTopic(rd_kafka_t* rk, const std::string& topic,
                         int32_t partitions,
                         const std::map<std::string, std::string>& config,
                         int timeout_ms);

// Takes up to `max` messages from `queue` into `out` and returns as soon as
// any are there: rd_kafka_consume_batch_queue alone waits until it has `max`
// messages or the timeout passes, so this takes what is queued, else waits
// up to timeout_ms for one message and then takes what came with it. Returns
// the count, or -1 (rd_kafka_last_error() says why).
ssize_t KafkaConsumeAvailable(rd_kafka_queue_t* queue, int timeout_ms,
                              rd_kafka_message_t** out, size_t max);

// True when this librdkafka build has the named builtin feature ("lz4",
// "zstd", "ssl", "sasl_scram"...).
bool KafkaHasFeature(std::string_view feature);

// Routes librdkafka's log lines to spdlog (levels mapped from syslog levels)
// instead of stderr. Set on every conf the engine creates.
void KafkaSetLogger(rd_kafka_conf_t* conf);

}  // namespace epistream
