// The rules on the Wuxing network (MODEL.md section 6): what each trains and how it gets its
// gradient (WuxingRule, training.hpp). The Trainer does the rest: the forward phase, the
// adjoint or bptt, the optimizers, PID.
#include "framework/learning/rules.hpp"
#include "framework/learning/training.hpp"

namespace wuxing {
namespace {

WuxingRule connection_rule(const TrainingConfig&) { return {}; }

WuxingRule fixed_point_rule(const TrainingConfig& t) {
  WuxingRule r;
  r.connections = t.train_connections_too;
  r.K = true;
  return r;
}

WuxingRule pid_rule(const TrainingConfig& t) {
  WuxingRule r;
  r = t.pid_target == PidTarget::fixed_point ? fixed_point_rule(t) : connection_rule(t);
  r.pid = true;
  return r;
}

WuxingRule bptt_rule(const TrainingConfig&) {
  WuxingRule r;
  r.bptt = true;
  return r;
}

template <WuxingRule (*rule)(const TrainingConfig&)>
std::unique_ptr<Learner> make(const ExperimentConfig& config, int features, int classes) {
  return make_wuxing_learner(config, features, classes, rule(config.training));
}

template <WuxingRule (*rule)(const TrainingConfig&)>
bool trains_K(const TrainingConfig& t) {
  return rule(t).K;
}

}  // namespace

WUXING_REGISTER_RULE(connection) {
  return {"connection", "local rule: the connections, by the adjoint at the fixed point",
          &make<connection_rule>};
}

WUXING_REGISTER_RULE(fixed_point) {
  return {"fixed_point",
          "local rule: the K's in training.trainable_K (and the connections with "
          "train_connections_too), by the adjoint",
          &make<fixed_point_rule>, &trains_K<fixed_point_rule>};
}

WUXING_REGISTER_RULE(pid) {
  return {"pid", "the rule training.pid_target names, its gradient through a PID controller",
          &make<pid_rule>, &trains_K<pid_rule>};
}

WUXING_REGISTER_RULE(bptt) {
  return {"bptt", "the connections, by the exact gradient through every Heun step (the check)",
          &make<bptt_rule>};
}

}  // namespace wuxing
