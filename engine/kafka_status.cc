#include "engine/kafka_status.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>

namespace epistream {

StatusCode KafkaErrorCode(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return StatusCode::kOk;

    // The cluster is (for now) not reachable or not ready: retry later.
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__ISR_INSUFF:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__UNKNOWN_BROKER:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
      return StatusCode::kUnavailable;

    // A stored offset that the broker no longer has.
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return StatusCode::kOutOfRange;

    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
    case RD_KAFKA_RESP_ERR__NOENT:
    case RD_KAFKA_RESP_ERR__NO_OFFSET:
      return StatusCode::kNotFound;

    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR__CONFLICT:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR__NOT_CONFIGURED:
    case RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
    case RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE:
      return StatusCode::kInvalidArgument;

    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__BAD_COMPRESSION:
    case RD_KAFKA_RESP_ERR__PARTIAL:
    case RD_KAFKA_RESP_ERR__UNDERFLOW:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
      return StatusCode::kCorruption;

    // The client is in a state it cannot leave by retrying: a bug or a
    // fenced/fatal producer that must be recreated.
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING:
    case RD_KAFKA_RESP_ERR_INVALID_TXN_STATE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_TRANSACTION_COORDINATOR_FENCED:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
      return StatusCode::kInternal;

    default:
      // Authorization, SASL, unsupported versions and the long tail of
      // broker refusals: the operation failed for a reason retrying will
      // not fix by itself.
      return StatusCode::kIoError;
  }
}

namespace {

Status Make(StatusCode code, std::string message) {
  switch (code) {
    case StatusCode::kOk:
      return Status::Ok();
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(std::move(message));
    case StatusCode::kNotFound:
      return Status::NotFound(std::move(message));
    case StatusCode::kIoError:
      return Status::IoError(std::move(message));
    case StatusCode::kCorruption:
      return Status::Corruption(std::move(message));
    case StatusCode::kUnavailable:
      return Status::Unavailable(std::move(message));
    case StatusCode::kOutOfRange:
      return Status::OutOfRange(std::move(message));
    case StatusCode::kInternal:
      return Status::Internal(std::move(message));
  }
  return Status::Internal(std::move(message));
}

std::string Describe(rd_kafka_resp_err_t err, std::string_view context,
                     std::string_view detail) {
  std::string m(context);
  m += ": ";
  m += rd_kafka_err2name(err);
  m += ": ";
  m += rd_kafka_err2str(err);
  if (!detail.empty() && detail != rd_kafka_err2str(err)) {
    m += " (";
    m += detail;
    m += ")";
  }
  return m;
}

}  // namespace

Status KafkaStatus(rd_kafka_resp_err_t err, std::string_view context) {
  return KafkaStatus(err, context, {});
}

Status KafkaStatus(rd_kafka_resp_err_t err, std::string_view context,
                   std::string_view detail) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Make(KafkaErrorCode(err), Describe(err, context, detail));
}

Status KafkaErrorStatus(rd_kafka_error_t* error, std::string_view context) {
  if (error == nullptr) return Status::Ok();
  const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  StatusCode code = KafkaErrorCode(err);
  if (rd_kafka_error_is_fatal(error)) {
    code = StatusCode::kInternal;
  } else if (rd_kafka_error_is_retriable(error)) {
    code = StatusCode::kUnavailable;
  }
  std::string message = Describe(err, context, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  return Make(code, std::move(message));
}

Status KafkaConfSet(rd_kafka_conf_t* conf, const std::string& key,
                    const std::string& value) {
  std::array<char, 512> errstr{};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr.data(),
                        errstr.size()) != RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument("kafka property '" + key +
                                   "': " + errstr.data());
  }
  return Status::Ok();
}

Status KafkaConfSetAll(rd_kafka_conf_t* conf,
                       const std::map<std::string, std::string>& props) {
  for (const auto& [key, value] : props) {
    EPI_RETURN_IF_ERROR(KafkaConfSet(conf, key, value));
  }
  return Status::Ok();
}

Result<KafkaHandle> KafkaCreate(rd_kafka_type_t type, KafkaConf conf) {
  std::array<char, 512> errstr{};
  // rd_kafka_new takes the conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr.data(), errstr.size());
  if (rk == nullptr) {
    return Status::InvalidArgument(std::string("creating kafka client: ") +
                                   errstr.data());
  }
  (void)conf.release();
  return KafkaHandle(rk);
}

Result<KafkaHandle> KafkaCreateIdempotentProducer(
    std::map<std::string, std::string> defaults,
    const std::map<std::string, std::string>& overrides, void* opaque,
    void (*dr_msg_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*),
    void (*error_cb)(rd_kafka_t*, int, const char*, void*)) {
  if (KafkaHasFeature("lz4")) defaults["compression.type"] = "lz4";
  for (const auto& [k, v] : overrides) defaults[k] = v;
  defaults["enable.idempotence"] = "true";
  KafkaConf conf(rd_kafka_conf_new());
  KafkaSetLogger(conf.get());
  EPI_RETURN_IF_ERROR(KafkaConfSetAll(conf.get(), defaults));
  rd_kafka_conf_set_opaque(conf.get(), opaque);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), dr_msg_cb);
  if (error_cb != nullptr) rd_kafka_conf_set_error_cb(conf.get(), error_cb);
  return KafkaCreate(RD_KAFKA_PRODUCER, std::move(conf));
}

void KafkaTryCreateTopic(rd_kafka_t* rk, const std::string& topic,
                         int32_t partitions,
                         const std::map<std::string, std::string>& config,
                         int timeout_ms) {
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, nullptr, 0);
  if (nt == nullptr) return;
  for (const auto& [k, v] : config) {
    if (rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::debug("CreateTopics {}: config {} refused", topic, k);
    }
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* ao =
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  char err[256];
  if (rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, err,
                                                sizeof err) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::debug("CreateTopics {}: admin timeout: {}", topic, err);
  }
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
  if (ev != nullptr) {
    const rd_kafka_CreateTopics_result_t* res =
        rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** trs =
        res != nullptr ? rd_kafka_CreateTopics_result_topics(res, &n)
                       : nullptr;
    const rd_kafka_resp_err_t e = n == 1 ? rd_kafka_topic_result_error(trs[0])
                                         : rd_kafka_event_error(ev);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
        e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      spdlog::debug("CreateTopics {}: {}", topic, rd_kafka_err2name(e));
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
}

ssize_t KafkaConsumeAvailable(rd_kafka_queue_t* queue, int timeout_ms,
                              rd_kafka_message_t** out, size_t max) {
  if (max == 0) return 0;
  ssize_t n = rd_kafka_consume_batch_queue(queue, 0, out, max);
  if (n == 0 && timeout_ms != 0) {
    n = rd_kafka_consume_batch_queue(queue, timeout_ms, out, 1);
    if (n == 1 && max > 1) {
      const ssize_t more =
          rd_kafka_consume_batch_queue(queue, 0, out + 1, max - 1);
      if (more > 0) n += more;
    }
  }
  return n;
}

bool KafkaHasFeature(std::string_view feature) {
  KafkaConf conf(rd_kafka_conf_new());
  std::array<char, 1024> buf{};
  size_t size = buf.size();
  if (rd_kafka_conf_get(conf.get(), "builtin.features", buf.data(), &size) !=
      RD_KAFKA_CONF_OK) {
    return false;
  }
  std::string_view list(buf.data());
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == feature) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

namespace {

void LogCallback(const rd_kafka_t* rk, int level, const char* fac,
                 const char* buf) {
  // syslog levels: 0 emerg .. 3 err, 4 warning, 5 notice, 6 info, 7 debug.
  spdlog::level::level_enum lvl = spdlog::level::debug;
  if (level <= 3) {
    lvl = spdlog::level::err;
  } else if (level == 4) {
    lvl = spdlog::level::warn;
  } else if (level <= 6) {
    lvl = spdlog::level::info;
  }
  spdlog::log(lvl, "librdkafka {} {}: {}", rd_kafka_name(rk), fac, buf);
}

}  // namespace

void KafkaSetLogger(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, &LogCallback);
}

}  // namespace epistream
