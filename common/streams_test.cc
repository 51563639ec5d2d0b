// streams_test — the named random streams of common/streams.h keep their numbers.
//
// The literals were captured from the raw derivations (Rng(seed).Derive(...)... as the call sites
// wrote them before streams.h existed). A change to a formula changes simulation results, so it must
// fail here first.
#include "common/streams.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <utility>

namespace cimsim {
namespace {

using W2 = std::pair<uint64_t, uint64_t>;

// The first two words of a stream.
W2 First2(Rng r) {
  const uint64_t a = r.NextU64();
  return {a, r.NextU64()};
}

uint64_t First(Rng r) { return r.NextU64(); }

TEST(StreamsTest, TrainingAndDataStreamsArePinned) {
  EXPECT_EQ(First2(WeightInitStream(1, 3)), W2(0xb0a36a9e2572ee6fULL, 0xc06942e6da03d987ULL));
  EXPECT_EQ(First2(EpochShuffleStream(7, 2)), W2(0x061337d029590c67ULL, 0xa45da8c35a4b269dULL));
  EXPECT_EQ(First2(AugmentStream(7, 2, 123)), W2(0x172c5b7fa4aa0c1eULL, 0xcf39527ae38e96aeULL));
  EXPECT_EQ(First2(CalibrationSubsetStream(5)), W2(0xaa28ef7c17222a3eULL, 0x3baa64db539f48a6ULL));
  EXPECT_EQ(First2(CalibrationSubsetStream(5, 4)), W2(0x8f3bd0414c4bb523ULL, 0x9490517f707a2bccULL));
}

TEST(StreamsTest, ChipAndExperimentStreamsArePinned) {
  EXPECT_EQ(First2(ChipProgramStream(1, 6)), W2(0xb2f45f810d3e0504ULL, 0xfdd76f2e6ffd9712ULL));
  EXPECT_EQ(ChipReadNoiseSeed(1), 0xcbb56a260f0c729eULL);
  EXPECT_EQ(First2(ImageNoiseStream(9, 17, 3)), W2(0xb512785b26c06ceaULL, 0xa4b67d701f62d44eULL));
  EXPECT_EQ(InstanceChipSeed(10, 3), 13u);
  const Rng root = ExperimentInstanceRoot(ExperimentPointRoot(1, 2), 1);
  EXPECT_EQ(InstanceNetworkNoiseSeed(root), 0x545818fe984be82aULL);
  EXPECT_EQ(InstanceTracePositionSeed(root), 0xbf4099deb2fba4aeULL);
  EXPECT_EQ(InstanceTraceReadSeed(root), 0xe68a9bfd84876ea3ULL);
  EXPECT_EQ(First2(TracePositionStream(11, 4, 5)), W2(0x91fecc5ec64a8e37ULL, 0x9aea3c597ad3b1b8ULL));
  EXPECT_EQ(First2(TraceReadStream(11, 4, 5)), First2(TracePositionStream(11, 4, 5)));  // same formula, other seed
}

TEST(StreamsTest, CalibrationAndQuantizationStreamsArePinned) {
  EXPECT_EQ(First2(CalibrationFitInputStream(1)), W2(0x4478036ee0932247ULL, 0x5dc8dd215753408bULL));
  EXPECT_EQ(First2(CalibrationHoldoutInputStream(1)), W2(0xcbb56a260f0c729eULL, 0x2f7bc7fcd2acf655ULL));
  EXPECT_EQ(First2(CalibrationFitReadStream(1)), W2(0xb783fe11754f3324ULL, 0x042c47b875add492ULL));
  EXPECT_EQ(First2(CalibrationHoldoutReadStream(1)), W2(0x21ab8ec16fbb78e1ULL, 0x02c26fb7adbb1ae3ULL));
  EXPECT_EQ(ActivationFitSeed(1), 0x4478036ee0932247ULL);
  EXPECT_EQ(First2(ActivationSampleStream(13, 2, 4)), W2(0x827c07b20ca13390ULL, 0x5e3fa64d55645160ULL));
  EXPECT_EQ(RangeStatsSeed(1, 5), 0x5e26fe35b3a8a48eULL);
  EXPECT_EQ(First2(ReconstructionPatchStream(1, 3, 2)), W2(0x07f2f4fc8985fbe3ULL, 0xbf02a569539b8277ULL));
  EXPECT_EQ(ExternalMessageSeed(42, 0), 42u);
  EXPECT_EQ(ExternalMessageSeed(42, 3), 0xd78083a01ac88272ULL);
}

TEST(StreamsTest, ExternalCallSeedTakesOneWordOfTheCallersStream) {
  Rng a = ImageNoiseStream(9, 17, 3), b = a;
  EXPECT_EQ(ExternalCallSeed(a), b.NextU64());
  EXPECT_EQ(a.NextU64(), b.NextU64());
}

bool AllDistinct(std::initializer_list<uint64_t> words) {
  return std::set<uint64_t>(words).size() == words.size();
}

// Streams rooted at one seed feed different things, so they differ from each other and across indices.
// (Streams rooted at different config seeds share shapes such as R(s)/a/b; they coincide only when
// the seeds do — see SharedRootsAreKnown.)
TEST(StreamsTest, DistinctStreamsDiffer) {
  const uint64_t s = 1;
  // One training seed: epoch shuffles and every image's augmentation (its class-balanced
  // train_images subset shares the epoch streams: SharedRootsAreKnown).
  EXPECT_TRUE(AllDistinct({First(EpochShuffleStream(s, 0)), First(EpochShuffleStream(s, 1)),
                           First(AugmentStream(s, 0, 0)), First(AugmentStream(s, 0, 1)), First(AugmentStream(s, 1, 0)),
                           First(CalibrationSubsetStream(s))}));
  // One init seed: every tensor.
  EXPECT_TRUE(AllDistinct({First(WeightInitStream(s, 0)), First(WeightInitStream(s, 1)), First(WeightInitStream(s, 2))}));
  // One chip seed: each layer's programming and the read noise seed.
  EXPECT_TRUE(AllDistinct({First(ChipProgramStream(s, 0)), First(ChipProgramStream(s, 1)), ChipReadNoiseSeed(s)}));
  // One network noise seed: (image, node) and (node, image) are different streams.
  EXPECT_TRUE(AllDistinct({First(ImageNoiseStream(s, 0, 1)), First(ImageNoiseStream(s, 1, 0)),
                           First(ImageNoiseStream(s, 1, 1))}));
  // One experiment noise seed: points, instances and each instance's three children.
  const Rng root = ExperimentInstanceRoot(ExperimentPointRoot(s, 0), 0);
  const Rng other = ExperimentInstanceRoot(ExperimentPointRoot(s, 0), 1);
  const Rng next_point = ExperimentInstanceRoot(ExperimentPointRoot(s, 1), 0);
  EXPECT_TRUE(AllDistinct({InstanceNetworkNoiseSeed(root), InstanceTracePositionSeed(root), InstanceTraceReadSeed(root),
                           InstanceNetworkNoiseSeed(other), InstanceNetworkNoiseSeed(next_point)}));
  // One chip calibration seed: fit and held-out inputs and reads.
  EXPECT_TRUE(AllDistinct({First(CalibrationFitInputStream(s)), First(CalibrationHoldoutInputStream(s)),
                           First(CalibrationFitReadStream(s)), First(CalibrationHoldoutReadStream(s))}));
  EXPECT_TRUE(AllDistinct({First(ActivationSampleStream(s, 0, 1)), First(ActivationSampleStream(s, 1, 0))}));
  // One quantization seed: range statistics per group and reconstruction patches per (group, image).
  EXPECT_TRUE(AllDistinct({RangeStatsSeed(s, 0), RangeStatsSeed(s, 1), First(ReconstructionPatchStream(s, 0, 0)),
                           First(ReconstructionPatchStream(s, 0, 1)), First(ReconstructionPatchStream(s, 1, 0))}));
  // One external call: its messages.
  EXPECT_TRUE(AllDistinct({ExternalMessageSeed(s, 0), ExternalMessageSeed(s, 1), ExternalMessageSeed(s, 2)}));
}

// The lifetime streams: their derivations, written out with Rng, and that they differ from each other
// and from the instance's other streams.
TEST(StreamsTest, LifetimeStreamsAreTheirDerivationsAndDistinct) {
  const Rng root = ExperimentInstanceRoot(ExperimentPointRoot(1, 0), 2);
  const Rng t3 = LifetimeTimeRoot(root, 3);
  EXPECT_EQ(First(t3), First(root.Derive(4).Derive(3)));
  EXPECT_EQ(LifetimeDriftReadSeed(t3), First(root.Derive(4).Derive(3).Derive(4)));
  EXPECT_EQ(LifetimeReferenceReadSeed(root, 1), First(root.Derive(5).Derive(1)));
  EXPECT_EQ(OutputStatisticsNoiseSeed(root), First(root.Derive(6)));
  EXPECT_EQ(OutputStatisticsNoiseSeed(t3), First(root.Derive(4).Derive(3).Derive(6)));
  EXPECT_EQ(First(DriftReadStream(9, 4)), First(Rng(9).Derive(4)));
  EXPECT_EQ(First(ChipReprogramStream(1, 6, 2)), First(Rng(1).Derive(2).Derive(6).Derive(2)));
  const Rng t0 = LifetimeTimeRoot(root, 0);
  EXPECT_TRUE(AllDistinct({InstanceNetworkNoiseSeed(t0), InstanceNetworkNoiseSeed(t3), InstanceTraceReadSeed(t0),
                           LifetimeDriftReadSeed(t0), LifetimeDriftReadSeed(t3), LifetimeReferenceReadSeed(root, 0),
                           LifetimeReferenceReadSeed(root, 1), InstanceNetworkNoiseSeed(root),
                           InstanceTracePositionSeed(root), InstanceTraceReadSeed(root),
                           OutputStatisticsNoiseSeed(root), OutputStatisticsNoiseSeed(t0), OutputStatisticsNoiseSeed(t3)}));
  EXPECT_TRUE(AllDistinct({First(ChipProgramStream(1, 6)), First(ChipReprogramStream(1, 6, 1)),
                           First(ChipReprogramStream(1, 6, 2)), First(ChipReprogramStream(1, 7, 1)),
                           ChipReadNoiseSeed(1)}));
}

// Same seed value, same formula: these coincide. They are fed by different config seeds (chip seed vs
// calibration seed; a training seed's epochs vs its subset classes) but equal values give equal words.
// Pinned so that docs/random_streams.md's note on shared roots stays true.
TEST(StreamsTest, SharedRootsAreKnown) {
  EXPECT_EQ(First(EpochShuffleStream(3, 2)), First(CalibrationSubsetStream(3, 2)));
  EXPECT_EQ(First(EpochShuffleStream(3, 2)), First(WeightInitStream(3, 2)));
  EXPECT_EQ(RangeStatsSeed(3, 2), First(CalibrationSubsetStream(3, 2)));  // PTQ: both from calibration.seed
  EXPECT_EQ(ActivationFitSeed(3), First(CalibrationFitInputStream(3)));
  EXPECT_EQ(ActivationHoldoutSeed(3), First(CalibrationHoldoutInputStream(3)));
  EXPECT_EQ(ChipReadNoiseSeed(3), First(CalibrationHoldoutInputStream(3)));
}

}  // namespace
}  // namespace cimsim
