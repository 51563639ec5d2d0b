// streams.h — every random stream of cimsim, by name: where each one comes from and what it feeds.
//
// The rule (docs/random_streams.md): every draw comes from an explicitly seeded Rng obtained through
// one of these functions, never from a shared generator, the clock or the thread. A stream is a pure
// function of its seed and indices (Rng::Derive, common/rng.h), so results do not depend on the
// thread count, the batch size or the order in which work items run. Changing a formula here changes
// results: common/streams_test.cc pins the first words of several streams.
//
// Notation: R(s) = Rng(s); R(s)/a/b = Rng(s).Derive(a).Derive(b); W(r) = r.NextU64() (one word, used
// as the seed of a further stream). Indices are cast to uint64_t as they are.
#pragma once

#include <cstdint>

#include "common/rng.h"

namespace cimsim {

// ---- Training and data (data/, nets/init, experiments/training_run) --------------------------------

// R(seed)/tensor: the `tensor`-th parameter tensor in VisitTensors order, all nodes in graph order
// (nets/init.h InitializeKaiming; seed = train config "model.init_seed").
inline Rng WeightInitStream(uint64_t seed, int64_t tensor) {
  return Rng(seed).Derive(static_cast<uint64_t>(tensor));
}

// R(seed)/epoch: the Fisher–Yates permutation of epoch `epoch` (data/batcher.h, data/image_loader.h; seed = BatcherParams::seed,
// the train config's "seed").
inline Rng EpochShuffleStream(uint64_t seed, int64_t epoch) {
  return Rng(seed).Derive(static_cast<uint64_t>(epoch));
}

// The offset of the augmentation children below the epoch stream (keeps them apart from any other child).
constexpr uint64_t kAugmentStreamBase = 1'000'000'007;

// R(seed)/epoch/(kAugmentStreamBase + image): the crop/flip draw (data/augment.h DrawAugment) of
// original image `image` in epoch `epoch` (data/batcher.h; its k-th repeat within one epoch passes
// image + k·N, N the set's size); for ImageNet-format data the random
// resized crop and flip (data/image_pipeline.h DrawTrainCrop, data/image_loader.h).
inline Rng AugmentStream(uint64_t seed, int64_t epoch, int64_t image) {
  return Rng(seed).Derive(static_cast<uint64_t>(epoch)).Derive(kAugmentStreamBase + static_cast<uint64_t>(image));
}

// R(seed): the partial Fisher–Yates draw of a plain (not class-balanced) calibration subset
// (data/calibration_subset.h).
inline Rng CalibrationSubsetStream(uint64_t seed) { return Rng(seed); }

// R(seed)/class: the draw of class `cls`'s images of a class-balanced subset (data/calibration_subset.h;
// seeds: quant config calibration.seed, the train config's "seed" for train_images, chip calibration's seed).
inline Rng CalibrationSubsetStream(uint64_t seed, int cls) { return Rng(seed).Derive(static_cast<uint64_t>(cls)); }

// ---- Hardware-aware training (train/hardware_noise.h, train/qat_layers.h) --------------------------

// R(seed)/step/node/0: the chip that node `node` (a conv/linear of the QAT network, graph order) is
// programmed on at hardware-aware training step `step` (seed = the QAT config's hardware_aware.seed).
inline Rng HardwareNoiseProgramStream(uint64_t seed, int64_t step, int64_t node) {
  return Rng(seed).Derive(static_cast<uint64_t>(step)).Derive(static_cast<uint64_t>(node)).Derive(0);
}

// R(seed)/step/node/(1 + image): the read and ADC noise of image `image` (its place in the batch) at
// that step, one Normal() per output element in [channel, position] order.
inline Rng HardwareNoiseReadStream(uint64_t seed, int64_t step, int64_t node, int64_t image) {
  return Rng(seed).Derive(static_cast<uint64_t>(step)).Derive(static_cast<uint64_t>(node)).Derive(1 + static_cast<uint64_t>(image));
}

// ---- Quantization calibration (nets/quantize_network, quant/range_calibration) ---------------------

// W(R(seed)/group): the reservoir seed of the range statistics of tensor group `group` (graph order);
// the network input's statistics use group = the number of groups (nets/quantize_network.cc; seed =
// QuantizeOptions::seed = the quant config's calibration.seed).
inline uint64_t RangeStatsSeed(uint64_t seed, int64_t group) {
  return Rng(seed).Derive(static_cast<uint64_t>(group)).NextU64();
}

// R(stats_seed): the reservoir sample (Algorithm R) of one RangeStats (quant/range_calibration.h).
inline Rng ReservoirStream(uint64_t stats_seed) { return Rng(stats_seed); }

// The child of the quantization seed that roots the reconstruction streams ("reco" in ASCII).
constexpr uint64_t kReconstructionStream = 0x7265636fULL;

// R(seed)/kReconstructionStream/group/image: which input patch positions of calibration image
// `image` (its place in the list) layer group `group` uses for its AdaRound / clip-search / bias
// correction moments, when it has more than kPatchesPerImage (nets/quantize_network.cc).
inline Rng ReconstructionPatchStream(uint64_t seed, int64_t group, int64_t image) {
  return Rng(seed)
      .Derive(kReconstructionStream)
      .Derive(static_cast<uint64_t>(group))
      .Derive(static_cast<uint64_t>(image));
}

// ---- A chip and its read noise (experiments/xbar_config, nets/integer_network) ---------------------

// R(chip_seed)/0/node: programming noise, faults and drift of conv/linear node `node`'s arrays
// (sim/crossbar_core.h; chip_seed = the xbar config's "seed"), so a layer's chip does not depend on
// which other layers run on CIM.
inline Rng ChipProgramStream(uint64_t chip_seed, int64_t node) {
  return Rng(chip_seed).Derive(0).Derive(static_cast<uint64_t>(node));
}

// W(R(chip_seed)/1): the network noise seed of `cimsim infer --crossbar` (roots ImageNoiseStream).
inline uint64_t ChipReadNoiseSeed(uint64_t chip_seed) { return Rng(chip_seed).Derive(1).NextU64(); }

// R(noise_seed)/image/node: everything a noisy core draws while node `node` runs on the image with
// index `image` in its data set — crossbar read noise (sim/crossbar_core.h), an external chip's call
// seed (ExternalCallSeed) — passed as MvmContext::rng (nets/integer_network.h).
inline Rng ImageNoiseStream(uint64_t noise_seed, int64_t image, int64_t node) {
  return Rng(noise_seed).Derive(static_cast<uint64_t>(image)).Derive(static_cast<uint64_t>(node));
}

// ---- An experiment's points and instances (experiments/experiment_runner, probe_core) ------------

// chip_seed + instance: the chip of Monte Carlo instance `instance` (the point's xbar seed + k;
// instance k of seed s is the chip of instance 0 of seed s + k, on purpose).
inline uint64_t InstanceChipSeed(uint64_t chip_seed, int64_t instance) {
  return chip_seed + static_cast<uint64_t>(instance);
}

// R(noise_seed)/point: the root of sweep point `point`'s streams (noise_seed = the experiment's "noise_seed").
inline Rng ExperimentPointRoot(uint64_t noise_seed, int64_t point) {
  return Rng(noise_seed).Derive(static_cast<uint64_t>(point));
}

// point_root/instance: the root of instance `instance` of a point. Its child 0 is unused; 1, 2, 3 below.
inline Rng ExperimentInstanceRoot(const Rng& point_root, int64_t instance) {
  return point_root.Derive(static_cast<uint64_t>(instance));
}

// W(instance_root/1): the instance's network noise seed (roots ImageNoiseStream for its test images).
inline uint64_t InstanceNetworkNoiseSeed(const Rng& instance_root) { return instance_root.Derive(1).NextU64(); }

// W(instance_root/2): the instance's trace position seed (roots TracePositionStream).
inline uint64_t InstanceTracePositionSeed(const Rng& instance_root) { return instance_root.Derive(2).NextU64(); }

// W(instance_root/3): the instance's trace read seed (roots TraceReadStream).
inline uint64_t InstanceTraceReadSeed(const Rng& instance_root) { return instance_root.Derive(3).NextU64(); }

// W(root/6): the read noise of the output-statistics calibration images (calib/output_statistics.h) —
// root an instance root, or in a lifetime run the time root of the read time (each time refits).
inline uint64_t OutputStatisticsNoiseSeed(const Rng& root) { return root.Derive(6).NextU64(); }

// R(position_seed)/image/node: which output position of image `image` a traced layer records
// (experiments/probe_core.h).
inline Rng TracePositionStream(uint64_t position_seed, int64_t image, int64_t node) {
  return Rng(position_seed).Derive(static_cast<uint64_t>(image)).Derive(static_cast<uint64_t>(node));
}

// R(read_seed)/image/node: the read noise of the traced vector's extra read (experiments/probe_core.h).
inline Rng TraceReadStream(uint64_t read_seed, int64_t image, int64_t node) {
  return Rng(read_seed).Derive(static_cast<uint64_t>(image)).Derive(static_cast<uint64_t>(node));
}

// ---- Lifetime runs: one programmed chip read at several times (experiments/lifetime_runner) ---------

// instance_root/4/time: the root of time index `time` (the place in lifetime.times) of an instance. Read
// like an instance root: InstanceNetworkNoiseSeed(time_root) and InstanceTraceReadSeed(time_root) give
// the test images' and the traces' read noise at that time; LifetimeDriftReadSeed the drift-reference
// reads. Independent of the policy, so every policy at one time sees the same read noise.
inline Rng LifetimeTimeRoot(const Rng& instance_root, int64_t time) {
  return instance_root.Derive(4).Derive(static_cast<uint64_t>(time));
}

// W(time_root/4): the seed of the drift-reference input's reads at that time (DriftReadStream).
inline uint64_t LifetimeDriftReadSeed(const Rng& time_root) { return time_root.Derive(4).NextU64(); }

// W(instance_root/5/generation): the seed of the reference reads at calibrate_at of a layer's programming
// `generation` (0: the chip as first programmed; n: after its n-th reprogramming).
inline uint64_t LifetimeReferenceReadSeed(const Rng& instance_root, int64_t generation) {
  return instance_root.Derive(5).Derive(static_cast<uint64_t>(generation)).NextU64();
}

// R(seed)/node: the read noise of one read of the drift-reference input through node `node`
// (calib/drift_compensation.h ReadLayer).
inline Rng DriftReadStream(uint64_t seed, int64_t node) { return Rng(seed).Derive(static_cast<uint64_t>(node)); }

// R(chip_seed)/2/node/generation: programming noise, faults, drift exponents and periphery of node
// `node`'s arrays when the lifetime policy "reprogram" programs them for the generation-th time
// (generation >= 1; the first programming is ChipProgramStream).
inline Rng ChipReprogramStream(uint64_t chip_seed, int64_t node, int64_t generation) {
  return Rng(chip_seed).Derive(2).Derive(static_cast<uint64_t>(node)).Derive(static_cast<uint64_t>(generation));
}

// ---- Chip calibration (calib/) ----------------------------------------------------------------------
// seed = ChipCalibrationParams::seed (the "seed" of a calibrate config's / experiment's calibration).

// R(seed)/0: the random fit input codes (calib/chip_calibration.h RandomCalibrationInputs).
inline Rng CalibrationFitInputStream(uint64_t seed) { return Rng(seed).Derive(0); }

// R(seed)/1: the random held-out input codes.
inline Rng CalibrationHoldoutInputStream(uint64_t seed) { return Rng(seed).Derive(1); }

// R(W(R(seed)/2)): the read noise of the fit reads (ADC range reads and correction reads alike: each
// pass starts this stream afresh).
inline Rng CalibrationFitReadStream(uint64_t seed) { return Rng(Rng(seed).Derive(2).NextU64()); }

// R(W(R(seed)/3)): the read noise of the held-out check (before and after: each starts it afresh).
inline Rng CalibrationHoldoutReadStream(uint64_t seed) { return Rng(Rng(seed).Derive(3).NextU64()); }

// W(R(seed)/0), W(R(seed)/1): the sampling seeds of the fit / held-out activation inputs
// (calib/activation_inputs.h).
inline uint64_t ActivationFitSeed(uint64_t seed) { return Rng(seed).Derive(0).NextU64(); }
inline uint64_t ActivationHoldoutSeed(uint64_t seed) { return Rng(seed).Derive(1).NextU64(); }

// R(sample_seed)/image/node: the patch positions node `node` takes from image `image` (its place in
// the list) when sampling activation inputs (calib/activation_inputs.h).
inline Rng ActivationSampleStream(uint64_t sample_seed, int64_t image, int64_t node) {
  return Rng(sample_seed).Derive(static_cast<uint64_t>(image)).Derive(static_cast<uint64_t>(node));
}

// ---- External chips (hil/) --------------------------------------------------------------------------

// W(stream): the seed of one ExternalCore::Multiply call, one word of the caller's stream (usually an
// ImageNoiseStream; hil/external_core.h).
inline uint64_t ExternalCallSeed(Rng& stream) { return stream.NextU64(); }

// call_seed for message 0, W(R(call_seed)/message) after: the "seed" field of MULTIPLY message
// `message` of one call (hil/external_chip.h); the chip server draws its noise from it.
inline uint64_t ExternalMessageSeed(uint64_t call_seed, int64_t message) {
  return message == 0 ? call_seed : Rng(call_seed).Derive(static_cast<uint64_t>(message)).NextU64();
}

}  // namespace cimsim
