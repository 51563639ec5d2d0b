// Tests of the Batcher: epoch order, subsets, short last batch, augmentation streams, and results
// that do not depend on thread count or the order batches are filled.
#include "data/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "common/error.h"
#include "common/parallel.h"
#include "common/rng.h"
#include "common/streams.h"
#include "data/augment.h"
#include "data/normalize.h"

namespace cimsim {
namespace {

// n images; label i % 10; bytes 0 and 1 of image i encode i (little-endian), the rest are random.
Cifar10Set SyntheticSet(int64_t n) {
  Cifar10Set set;
  set.labels.resize(static_cast<size_t>(n));
  set.pixels.resize(static_cast<size_t>(n * kCifarImageBytes));
  Rng rng(99);
  for (int64_t i = 0; i < n; ++i) {
    set.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(i % 10);
    uint8_t* img = set.pixels.data() + i * kCifarImageBytes;
    for (int j = 0; j < kCifarImageBytes; ++j) img[j] = static_cast<uint8_t>(rng.Below(256));
    img[0] = static_cast<uint8_t>(i & 0xff);
    img[1] = static_cast<uint8_t>(i >> 8);
  }
  return set;
}

// mean 0, std 1: out = pixel / 255, so pixels can be read back.
ChannelNorm IdentityNorm() {
  ChannelNorm n;
  n.mean = {0, 0, 0};
  n.std = {1, 1, 1};
  return n;
}

ChannelNorm CifarNorm() {
  ChannelNorm n;
  n.mean = {0.4914, 0.4822, 0.4465};
  n.std = {0.2470, 0.2435, 0.2616};
  return n;
}

BatcherParams Params(int64_t batch, bool shuffle, bool augment, uint64_t seed) {
  BatcherParams p;
  p.batch_size = batch;
  p.shuffle = shuffle;
  p.augment = augment;
  p.seed = seed;
  return p;
}

int64_t DecodeIndex(const float* image) {
  return std::lround(image[0] * 255.0f) + 256 * std::lround(image[1] * 255.0f);
}

struct EpochOutput {
  std::vector<float> images;
  std::vector<int32_t> labels;
  std::vector<int64_t> counts;
};

// Fills every batch of the current epoch (in the given batch order) into one flat buffer.
EpochOutput FillEpoch(const Batcher& b, ThreadPool* pool, bool reverse = false) {
  const int64_t bs = b.params().batch_size;
  EpochOutput out;
  out.images.assign(static_cast<size_t>(b.NumBatches() * bs * kCifarImageBytes), -7.0f);
  out.labels.assign(static_cast<size_t>(b.NumBatches() * bs), -1);
  out.counts.assign(static_cast<size_t>(b.NumBatches()), 0);
  for (int64_t k = 0; k < b.NumBatches(); ++k) {
    const int64_t batch = reverse ? b.NumBatches() - 1 - k : k;
    out.counts[static_cast<size_t>(batch)] =
        b.Fill(batch, out.images.data() + batch * bs * kCifarImageBytes,
               out.labels.data() + batch * bs, pool);
  }
  return out;
}

// The original indices visited in an epoch, read back from the (unaugmented) pixels.
std::vector<int64_t> VisitedIndices(const Batcher& b, const Cifar10Set& set) {
  const EpochOutput out = FillEpoch(b, nullptr);
  const int64_t bs = b.params().batch_size;
  std::vector<int64_t> visited;
  for (int64_t batch = 0; batch < b.NumBatches(); ++batch) {
    for (int64_t k = 0; k < out.counts[static_cast<size_t>(batch)]; ++k) {
      const int64_t slot = batch * bs + k;
      const int64_t idx = DecodeIndex(out.images.data() + slot * kCifarImageBytes);
      EXPECT_EQ(out.labels[static_cast<size_t>(slot)], set.labels[static_cast<size_t>(idx)]);
      visited.push_back(idx);
    }
  }
  return visited;
}

TEST(BatcherParams, ValidateRejectsNonPositiveBatchSize) {
  EXPECT_NO_THROW(Params(1, true, true, 0).Validate());
  for (const int64_t bad : {int64_t{0}, int64_t{-3}, int64_t{2'000'000}}) {
    try {
      Params(bad, true, false, 0).Validate();
      ADD_FAILURE() << "expected an InputError for " << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("batch_size = " + std::to_string(bad)),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Batcher, LastBatchIsShortAndLabelsFollowImages) {
  const Cifar10Set set = SyntheticSet(103);
  Batcher b(set, IdentityNorm(), Params(10, false, false, 1));
  EXPECT_EQ(b.NumImages(), 103);
  ASSERT_EQ(b.NumBatches(), 11);
  b.StartEpoch(0);
  const EpochOutput out = FillEpoch(b, nullptr);
  for (int64_t k = 0; k < 10; ++k) EXPECT_EQ(out.counts[static_cast<size_t>(k)], 10);
  EXPECT_EQ(out.counts[10], 3);
  // Without shuffle the order is 0..n-1; the slots after the short batch are untouched.
  for (int64_t i = 0; i < 103; ++i) {
    EXPECT_EQ(DecodeIndex(out.images.data() + i * kCifarImageBytes), i);
    EXPECT_EQ(out.labels[static_cast<size_t>(i)], i % 10);
  }
  EXPECT_EQ(out.labels[103], -1);
  EXPECT_EQ(out.images[103 * kCifarImageBytes], -7.0f);
}

TEST(Batcher, BatchLargerThanSetGivesOneShortBatch) {
  const Cifar10Set set = SyntheticSet(5);
  Batcher b(set, IdentityNorm(), Params(8, true, false, 1));
  ASSERT_EQ(b.NumBatches(), 1);
  b.StartEpoch(0);
  EXPECT_EQ(FillEpoch(b, nullptr).counts[0], 5);
}

TEST(Batcher, EveryIndexExactlyOncePerEpoch) {
  const Cifar10Set set = SyntheticSet(103);
  Batcher b(set, IdentityNorm(), Params(16, true, false, 5));
  for (int64_t epoch = 0; epoch < 4; ++epoch) {
    b.StartEpoch(epoch);
    std::vector<int64_t> visited = VisitedIndices(b, set);
    EXPECT_EQ(visited, b.order());
    std::sort(visited.begin(), visited.end());
    std::vector<int64_t> all(103);
    std::iota(all.begin(), all.end(), int64_t{0});
    EXPECT_EQ(visited, all) << "epoch " << epoch;
  }
}

TEST(Batcher, EpochsDifferAndSameSeedRepeats) {
  const Cifar10Set set = SyntheticSet(103);
  Batcher a(set, IdentityNorm(), Params(16, true, false, 5));
  Batcher b(set, IdentityNorm(), Params(16, true, false, 5));
  Batcher other_seed(set, IdentityNorm(), Params(16, true, false, 6));
  a.StartEpoch(0);
  const std::vector<int64_t> a0 = a.order();
  a.StartEpoch(1);
  const std::vector<int64_t> a1 = a.order();
  EXPECT_NE(a0, a1);
  b.StartEpoch(1);
  EXPECT_EQ(b.order(), a1);
  b.StartEpoch(0);
  EXPECT_EQ(b.order(), a0);
  other_seed.StartEpoch(0);
  EXPECT_NE(other_seed.order(), a0);
}

TEST(Batcher, ShuffleIsTheSpecifiedFisherYates) {
  const Cifar10Set set = SyntheticSet(50);
  Batcher b(set, IdentityNorm(), Params(7, true, false, 42));
  b.StartEpoch(3);
  std::vector<int64_t> want(50);
  std::iota(want.begin(), want.end(), int64_t{0});
  Rng rng = Rng(42).Derive(3);
  for (size_t i = want.size() - 1; i >= 1; --i) std::swap(want[i], want[rng.Below(i + 1)]);
  EXPECT_EQ(b.order(), want);
}

// Statistical test (fixed seed): over 6000 epochs of a 3-image set, each of the 6 permutations has
// expected count 1000 and sd sqrt(6000 * 1/6 * 5/6) ~ 28.9; require each within 5 sd (+-144).
TEST(Batcher, ShuffleIsUniformOverPermutations) {
  const Cifar10Set set = SyntheticSet(3);
  Batcher b(set, IdentityNorm(), Params(3, true, false, 8));
  std::map<std::vector<int64_t>, int> counts;
  constexpr int n = 6000;
  for (int64_t e = 0; e < n; ++e) {
    b.StartEpoch(e);
    ++counts[b.order()];
  }
  ASSERT_EQ(counts.size(), 6u);
  const double sd = std::sqrt(n * (1.0 / 6) * (5.0 / 6));
  for (const auto& [perm, count] : counts) {
    EXPECT_LE(std::fabs(count - n / 6.0), 5 * sd)
        << "permutation " << perm[0] << perm[1] << perm[2] << " count " << count;
  }
}

TEST(Batcher, SubsetVisitsOnlyTheSubsetInItsOrderWithoutShuffle) {
  const Cifar10Set set = SyntheticSet(40);
  const std::vector<int64_t> subset = {31, 2, 17, 5, 39, 0, 8};
  Batcher plain(set, subset, IdentityNorm(), Params(3, false, false, 1));
  EXPECT_EQ(plain.NumImages(), 7);
  EXPECT_EQ(plain.NumBatches(), 3);
  plain.StartEpoch(0);
  EXPECT_EQ(VisitedIndices(plain, set), subset);

  Batcher shuffled(set, subset, IdentityNorm(), Params(3, true, false, 1));
  shuffled.StartEpoch(2);
  std::vector<int64_t> visited = VisitedIndices(shuffled, set);
  std::vector<int64_t> sorted_subset = subset;
  std::sort(visited.begin(), visited.end());
  std::sort(sorted_subset.begin(), sorted_subset.end());
  EXPECT_EQ(visited, sorted_subset);
}

TEST(Batcher, BadSubsetsAreRejected) {
  const Cifar10Set set = SyntheticSet(10);
  const BatcherParams p = Params(4, true, false, 1);
  EXPECT_THROW(Batcher(set, std::vector<int64_t>{}, IdentityNorm(), p), InputError);
  EXPECT_THROW(Batcher(set, std::vector<int64_t>{1, 10}, IdentityNorm(), p), InputError);
  EXPECT_THROW(Batcher(set, std::vector<int64_t>{-1}, IdentityNorm(), p), InputError);
  const Cifar10Set empty;
  EXPECT_THROW(Batcher(empty, IdentityNorm(), p), InputError);
  EXPECT_THROW(Batcher(set, IdentityNorm(), Params(0, true, false, 1)), InputError);
}

// A repeated index (an oversampled image) is visited once per occurrence; without augmentation its
// copies are the same pixels, with it each copy k draws from AugmentStream(seed, epoch, idx + k·N); the
// entries that do not repeat keep the stream of a subset without repeats.
TEST(Batcher, RepeatedIndicesAreVisitedOncePerCopyWithTheirOwnAugmentation) {
  const Cifar10Set set = SyntheticSet(12);
  const std::vector<int64_t> subset = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 3, 7, 3};
  Batcher b(set, subset, IdentityNorm(), Params(4, true, true, 21));
  Batcher no_repeat(set, IdentityNorm(), Params(4, true, true, 21));
  EXPECT_EQ(b.NumImages(), 15);
  std::vector<uint8_t> augmented(kCifarImageBytes);
  std::vector<float> want(kCifarImageBytes);
  for (int64_t epoch : {0, 3}) {
    b.StartEpoch(epoch);
    no_repeat.StartEpoch(epoch);
    std::vector<int64_t> visited = b.order();
    std::sort(visited.begin(), visited.end());
    std::vector<int64_t> sorted_subset = subset;
    std::sort(sorted_subset.begin(), sorted_subset.end());
    EXPECT_EQ(visited, sorted_subset);
    std::vector<int64_t> keys = b.augment_keys();
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 3 + 12, 7 + 12, 3 + 24}));
    const EpochOutput out = FillEpoch(b, nullptr);
    const EpochOutput plain = FillEpoch(no_repeat, nullptr);
    for (int64_t pos = 0; pos < b.NumImages(); ++pos) {
      const int64_t idx = b.order()[static_cast<size_t>(pos)], key = b.augment_keys()[static_cast<size_t>(pos)];
      EXPECT_EQ(key % 12, idx);
      Rng rng = AugmentStream(21, epoch, key);
      ApplyAugment(set.image(idx), DrawAugment(rng), augmented.data());
      NormalizeImage(augmented.data(), IdentityNorm(), want.data());
      ASSERT_TRUE(std::equal(want.begin(), want.end(), out.images.data() + pos * kCifarImageBytes)) << "pos " << pos;
      if (key < 12) {  // a first copy: the same image as in the epoch without repeats
        const auto at = std::find(no_repeat.order().begin(), no_repeat.order().end(), idx) - no_repeat.order().begin();
        EXPECT_TRUE(std::equal(want.begin(), want.end(), plain.images.data() + at * kCifarImageBytes)) << "pos " << pos;
      }
    }
  }
}

TEST(Batcher, MisuseIsReported) {
  const Cifar10Set set = SyntheticSet(10);
  Batcher b(set, IdentityNorm(), Params(4, true, false, 1));
  std::vector<float> images(4 * kCifarImageBytes);
  std::vector<int32_t> labels(4);
  EXPECT_THROW(b.Fill(0, images.data(), labels.data(), nullptr), std::logic_error);
  b.StartEpoch(0);
  EXPECT_THROW(b.Fill(3, images.data(), labels.data(), nullptr), std::out_of_range);
  EXPECT_THROW(b.Fill(-1, images.data(), labels.data(), nullptr), std::out_of_range);
  EXPECT_THROW(b.StartEpoch(-1), std::out_of_range);
}

// Each augmented image must be exactly: DrawAugment on Rng(seed).Derive(epoch).Derive(1'000'000'007
// + original index), ApplyAugment, then the reference normalization (the table path is
// bit-identical).
TEST(Batcher, AugmentationUsesThePerImageStream) {
  const Cifar10Set set = SyntheticSet(37);
  const ChannelNorm norm = CifarNorm();
  Batcher b(set, norm, Params(8, true, true, 77));
  std::vector<uint8_t> augmented(kCifarImageBytes);
  std::vector<float> want(kCifarImageBytes);
  int flipped = 0, shifted = 0;
  for (int64_t epoch : {0, 5}) {
    b.StartEpoch(epoch);
    const EpochOutput out = FillEpoch(b, nullptr);
    for (int64_t pos = 0; pos < b.NumImages(); ++pos) {
      const int64_t idx = b.order()[static_cast<size_t>(pos)];
      Rng rng = Rng(77).Derive(static_cast<uint64_t>(epoch)).Derive(1'000'000'007ULL + idx);
      const AugmentDraw d = DrawAugment(rng);
      flipped += d.flip ? 1 : 0;
      shifted += (d.dy != 4 || d.dx != 4) ? 1 : 0;
      ApplyAugment(set.image(idx), d, augmented.data());
      NormalizeImage(augmented.data(), norm, want.data());
      const float* got = out.images.data() + pos * kCifarImageBytes;
      ASSERT_TRUE(std::equal(want.begin(), want.end(), got)) << "epoch " << epoch << " pos " << pos;
      EXPECT_EQ(out.labels[static_cast<size_t>(pos)], set.labels[static_cast<size_t>(idx)]);
    }
  }
  // The check above is only meaningful if augmentation actually changed images.
  EXPECT_GT(flipped, 0);
  EXPECT_GT(shifted, 0);
}

TEST(Batcher, ResultsDoNotDependOnThreadsOrBatchOrder) {
  const Cifar10Set set = SyntheticSet(45);
  Batcher b(set, CifarNorm(), Params(8, true, true, 3));
  ThreadPool one(1), two(2);
  for (int64_t epoch : {0, 1}) {
    b.StartEpoch(epoch);
    const EpochOutput none = FillEpoch(b, nullptr);
    const EpochOutput t1 = FillEpoch(b, &one);
    const EpochOutput t2 = FillEpoch(b, &two);
    const EpochOutput t2_reverse = FillEpoch(b, &two, /*reverse=*/true);
    // Bit-identical: compare the float buffers with ==, not a tolerance.
    EXPECT_EQ(none.images, t1.images);
    EXPECT_EQ(none.images, t2.images);
    EXPECT_EQ(none.images, t2_reverse.images);
    EXPECT_EQ(none.labels, t2.labels);
    EXPECT_EQ(none.counts, t2_reverse.counts);
  }
}

TEST(Batcher, AugmentationDiffersBetweenEpochs) {
  const Cifar10Set set = SyntheticSet(20);
  Batcher b(set, IdentityNorm(), Params(20, false, true, 3));  // no shuffle: same order each epoch
  b.StartEpoch(0);
  const EpochOutput e0 = FillEpoch(b, nullptr);
  b.StartEpoch(1);
  const EpochOutput e1 = FillEpoch(b, nullptr);
  EXPECT_EQ(e0.labels, e1.labels);
  EXPECT_NE(e0.images, e1.images);
}

}  // namespace
}  // namespace cimsim
