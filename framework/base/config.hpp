// The resolved configuration of one run. The spec loader (framework/spec.*) fills it
// from YAML and validates it; everything downstream reads only this struct.
// Defaults here are the documented defaults of the YAML keys of the same names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/base/options.hpp"

namespace wuxing {

struct Range {
  double min = 0.0;
  double max = 0.0;
};

struct ModelConfig {
  std::string variant = "jiang-r1";
  int n = 5;  // elements per neuron
  int g = 1;  // generating offset
  int k = 2;  // overcoming offset
  double K1 = 1.0;
  double K2 = 0.5;
  double K3 = 0.5;
  std::optional<double> fixed_point_target;  // if set, K2 is solved from it
  Sharing sharing = Sharing::per_neuron;     // shared | per_layer | per_neuron
  // K's of the input neurons: fixed (the model's K's, never trained; the papers' set-up) |
  // shared (one trainable entry for all inputs) | per_neuron (one trainable entry each). When
  // not fixed, the input neurons' steady states are solved per sample, and the fixed_point
  // rule trains their K's too (exact gradients by the implicit function theorem).
  InputSharing input_sharing = InputSharing::fixed;
  Range K1_range{0.5, 2.0};
  Range K2_range{0.05, 5.0};
  Range K3_range{0.15, 0.95};
};

struct NetworkConfig {
  std::vector<int> hidden;  // hidden layer sizes; inputs and outputs come from data
  // uniform_random | fixed | sparse | one_to_one; sparse_base: the pairing used by `sparse`,
  // uniform_random | fixed.
  Connectivity connectivity = Connectivity::uniform_random;
  SparseBase sparse_base = SparseBase::uniform_random;
  double sparsity = 1.0;                 // keep probability p for `sparse`, in (0, 1]
  int input_element = 1;                 // b for `fixed`: where a neuron is driven
  int output_element = 2;                // a for `fixed`: where a neuron's signal is read
  int input_layer_output_element = 1;    // a for `fixed` on connections leaving the input layer
  double alpha = 0.5;                    // input drive u = alpha * pixel
  WeightInit init = WeightInit::normal;  // normal | uniform
  double init_scale = 1.0;               // std (normal) or half-width (uniform), / sqrt(fan_in)
  double x_min = 0.0;                    // value range of every element; clamps are counted
  double x_max = 4.0;
  // What the loss reads from an output neuron: state (its read element's settled signal
  // x - x*, the papers' network) | drive (the total drive it receives, a linear readout of
  // the last hidden layer as in Laborieux et al. 2021; the output neurons' own dynamics and
  // K's then do not enter the loss).
  Readout readout = Readout::state;
};

struct DataConfig {
  DatasetKind dataset = DatasetKind::mnist;  // mnist | fashion_mnist | synthetic
  std::string dir;         // empty: data/mnist or /usr/share/datasets/fashion-mnist
  int train_size = 60000;  // first N after the seeded shuffle
  int test_size = 10000;
  // > 0: hold out the last validation_size samples of the training file's seeded order (disjoint
  // from the training samples, which stay those of the same seed without it) and evaluate on them
  // in place of the test set, whose test_size is then unused. 0: the test set (the default).
  int validation_size = 0;
  double pixel_scale = 1.0 / 255.0;  // pixel value = byte * pixel_scale
  bool shuffle = true;               // reshuffle training data every epoch (seeded)
  double input_noise = 0.0;          // std of Gaussian noise added to test pixels
  int synthetic_features = 16;       // dataset "synthetic": pixels per sample
  int synthetic_classes = 3;         // dataset "synthetic": classes (<= features)
};

struct IntegratorConfig {
  std::string method = "heun";  // see integrators/integrator.hpp stepper_names()
  double h = 0.1;
  double t_max = 60.0;           // forward phase
  double tol = 1e-6;             // steady state when max |dx/dt| < tol
  double backward_t_max = 60.0;  // backward (adjoint) phase
  double backward_tol = 1e-6;
  // integrate: the adjoint ODE with `method` until max |d lambda/dt| < backward_tol.
  // solve: its fixed point lambda = -J^-T e directly (block back-substitution, per neuron a
  // small LU solve), exact up to rounding; a sample counts as unsettled when a neuron's
  // free Jacobian block is not Hurwitz-stable (the ODE would not settle there either).
  BackwardMethod backward_method = BackwardMethod::integrate;
  // integrate: the forward phase by `method` until max |dx/dt| < tol (the papers' way).
  // solve: its steady state directly, layer by layer, one projected Newton solve per neuron
  // and sample (framework/model/steady_state.hpp); a sample whose solve does not converge or
  // ends unstable is integrated instead, and counted.
  // table: like solve, but a neuron driven on one element only reads its state from a
  // tabulated response (framework/model/response_table.hpp), solving only where the table
  // cannot answer.
  ForwardMethod forward_method = ForwardMethod::integrate;
  double solve_tol = 1e-12;       // Newton: max |f| over the free elements
  int solve_max_iterations = 50;  // Newton iterations per neuron before the fallback
  double table_step = 1e-3;       // table: spacing of the tabulated drive values
  std::int64_t max_steps = 100000;
  double rtol = 1e-8;
  double atol = 1e-10;
};

struct PidConfig {
  double kp = 1.0;
  double ki = 0.0;
  double kd = 0.0;
  double integral_leak = 0.1;    // I <- (1 - leak) I + g
  double integral_clamp = 10.0;  // |I| <= clamp
};

struct TrainingConfig {
  std::string rule = "connection";  // connection | fixed_point | pid | bptt | mlp_backprop
  PidTarget pid_target = PidTarget::connection;  // what `pid` trains: connection | fixed_point
  std::vector<std::string> trainable_K{"K3"};    // for fixed_point (and pid on fixed_point)
  bool train_connections_too = false;            // fixed_point rule: also update connections
  // fixed_point rule: keep each neuron's fixed point x* = (K1 - K3) / K2 where it started, so that
  // a value range around x* keeps its meaning: K2 follows K1 and K3 (K2 = (K1 - K3) / x*, its
  // gradient carried to them by the chain rule) and is not trained on its own.
  bool pin_fixed_point = false;
  std::string loss = "cross_entropy";  // cross_entropy | mse
  double logit_scale = 10.0;           // softmax over logit_scale * s
  // A sample whose forward phase did not settle (local rules): exclude_sample leaves it out of
  // the gradient; exclude_element keeps it and holds only its elements that are still moving
  // (|dx/dt| >= tol) as constants in the backward phase, as clamped elements are (counted as
  // held_elements). Settling itself can be made exact with integrator.forward_method: solve.
  UnsettledPolicy unsettled_policy = UnsettledPolicy::exclude_sample;
  double target_amplitude = 0.5;                 // mse: one-hot target signal amplitude
  OptimizerKind optimizer = OptimizerKind::sgd;  // sgd | momentum | adam
  double learning_rate = 0.01;
  // constant | inverse_epoch: lr / (1 + epoch) | cosine: lr (1 + cos(pi epoch / epochs)) / 2
  LrSchedule lr_schedule = LrSchedule::inverse_epoch;
  // Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): before each step, every connection
  // coefficient (mlp_backprop: every weight, not the biases) shrinks by lr * weight_decay of
  // itself. 0 (the default) is no decay.
  double weight_decay = 0.0;
  double momentum = 0.9;
  int batch_size = 50;
  int epochs = 1;
  MlpActivation mlp_activation = MlpActivation::tanh;  // mlp_backprop: tanh | sigmoid | hard_tanh
  PidConfig pid;                                       // rule pid: training.pid {kp, ki, kd, ...}
};

struct RecordConfig {
  std::vector<int> probe_samples;  // test-set indices whose trajectories are kept
  std::vector<int> probe_layers;   // layer indices (0 = first non-input layer)
  int trajectory_stride = 1;       // keep every k-th step
  bool stability = false;          // operating-point eigenvalues every epoch
  int stability_samples = 1;       // test samples used for them
};

// When a run that trained to the end is still stored as numerical_trouble, with its reason
// (framework/runner.cpp, judge_status). Keys under `status:`.
struct StatusConfig {
  // Mean over the epochs of the fraction of forward phases that did not settle; above it the
  // run is numerical_trouble. 1 turns the check off.
  double max_unsettled_fraction = 0.5;
  // The final test accuracy must exceed chance (1 / classes) by more than this, else the run
  // is numerical_trouble ("at chance level"). -1 turns the check off.
  double min_above_chance = 0.0;
};

struct ExperimentConfig {
  std::string name = "experiment";
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all cores (OMP_NUM_THREADS if set)
  ModelConfig model;
  NetworkConfig network;
  DataConfig data;
  IntegratorConfig integrator;
  TrainingConfig training;
  RecordConfig record;
  StatusConfig status;
};

}  // namespace wuxing
