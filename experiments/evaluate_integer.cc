#include "experiments/evaluate_integer.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "common/error.h"
#include "nets/fake_quant_forward.h"
#include "nets/integer_reference.h"

namespace cimsim {
namespace {

void CheckFitsData(const QuantizedModel& m, const Cifar10Set& data) {
  if (m.input_chw != std::array<int, 3>{kCifarChannels, data.height, data.width})
    throw InputError("the quantized model expects input [" + std::to_string(m.input_chw[0]) + ", " +
                     std::to_string(m.input_chw[1]) + ", " + std::to_string(m.input_chw[2]) + "], the images are [3, " +
                     std::to_string(data.height) + ", " + std::to_string(data.width) + "]");
  CheckLabelsClassifiable(m.num_classes, data);
}

template <typename T>
int32_t Argmax(const T* v, int64_t n) {
  return static_cast<int32_t>(std::max_element(v, v + n) - v);
}

}  // namespace

EvalResult EvaluateInteger(IntegerNetwork& net, const Cifar10Set& data, const EvalParams& params, Progress* progress) {
  params.Validate();
  const QuantizedModel& m = net.model();
  CheckFitsData(m, data);
  const int64_t n = params.limit > 0 ? std::min(params.limit, data.size()) : data.size();
  const int64_t classes = m.num_classes;
  EvalResult result;
  result.Start(data);
  result.macs_per_image = m.MacsPerImage();
  result.predictions.reserve(static_cast<size_t>(n));
  ThreadPool pool(params.threads);
  std::vector<int32_t> logits(static_cast<size_t>(std::min(params.batch_size, std::max<int64_t>(n, 1)) * classes));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < n; first += params.batch_size) {
    const int64_t count = std::min(params.batch_size, n - first);
    net.Forward(data.image(first), count, logits.data(), pool, first);
    for (int64_t i = 0; i < count; ++i) {
      result.Record(Argmax(logits.data() + i * classes, classes), data.labels[static_cast<size_t>(first + i)]);
    }
    result.total += count;
    if (progress) progress->Add(count);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (progress) progress->Finish();
  return result;
}

IntegerCheck CheckIntegerEngine(IntegerNetwork& net, const Cifar10Set& data, int64_t limit, int threads,
                                Progress* progress) {
  const QuantizedModel& m = net.model();
  CheckFitsData(m, data);
  const int64_t n = limit > 0 ? std::min(limit, data.size()) : data.size();
  const int64_t classes = m.num_classes;
  std::vector<uint8_t> ref_bad(static_cast<size_t>(n), 0), fq_bad(static_cast<size_t>(n), 0);
  ThreadPool pool(threads);
  std::vector<std::unique_ptr<IntegerWorker>> workers;
  for (int t = 0; t < pool.Threads(); ++t) workers.push_back(std::make_unique<IntegerWorker>());
  std::mutex progress_mutex;
  pool.ParallelFor(n, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    std::vector<int32_t> fast(static_cast<size_t>(classes));
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      net.ForwardImage(data.image(i), fast.data(), *workers[static_cast<size_t>(worker)], i);
      const std::vector<int32_t> ref = IntegerReferenceForward(m, data.image(i));
      const std::vector<double> fq = FakeQuantForward(m, data.image(i));
      ref_bad[static_cast<size_t>(i)] = ref != fast;
      fq_bad[static_cast<size_t>(i)] = Argmax(fq.data(), classes) != Argmax(fast.data(), classes);
      if (progress) {
        const std::lock_guard<std::mutex> lock(progress_mutex);
        progress->Add(1);
      }
    }
  });
  if (progress) progress->Finish();
  IntegerCheck check;
  check.images = n;
  for (int64_t i = 0; i < n; ++i) {
    check.reference_mismatches += ref_bad[static_cast<size_t>(i)];
    check.fake_quant_mismatches += fq_bad[static_cast<size_t>(i)];
    if ((ref_bad[static_cast<size_t>(i)] || fq_bad[static_cast<size_t>(i)]) && check.first_mismatches.size() < 10)
      check.first_mismatches.push_back(i);
  }
  return check;
}

}  // namespace cimsim
