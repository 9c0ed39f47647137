#include "trainer/gradient_reducer.h"

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <chrono>

#include "core/error.h"

namespace dunet::trainer {

using Clock = std::chrono::steady_clock;

class GradientReducer::AccumulatedHook final : public torch::autograd::FunctionPostHook {
 public:
  AccumulatedHook(GradientReducer* reducer, size_t k) : reducer_(reducer), k_(k) {}
  torch::autograd::variable_list operator()(
      const torch::autograd::variable_list& outputs,
      const torch::autograd::variable_list& /*inputs*/) override {
    reducer_->on_accumulated(k_);
    return outputs;
  }

 private:
  GradientReducer* reducer_;
  size_t k_;
};

GradientReducer::GradientReducer(std::vector<torch::Tensor> parameters,
                                 launcher::Communicator& comm, int64_t bucket_bytes,
                                 int64_t first_bucket_bytes)
    : parameters_(std::move(parameters)),
      bucket_of_(parameters_.size()),
      slot_of_(parameters_.size()),
      filled_(parameters_.size(), false),
      comm_(comm.duplicate()),
      scale_(1.0 / comm.size()),
      device_(parameters_.empty() ? c10::Device(c10::kCPU) : parameters_.front().device()) {
  // Autograd produces gradients roughly in reverse registration order, so bucket 0 holds the
  // last parameters and is ready first. The order depends only on the model: same on all ranks.
  Bucket current;
  int64_t current_bytes = 0;
  int64_t cap = first_bucket_bytes;
  const auto close_bucket = [&] {
    if (current.parameters.empty()) return;
    const auto& first = parameters_[current.parameters.front()];
    current.flat = torch::zeros(
        {current.offsets.back() + parameters_[current.parameters.back()].numel()}, first.options());
    buckets_.push_back(std::move(current));
    current = Bucket{};
    current_bytes = 0;
    cap = bucket_bytes;
  };
  int64_t offset = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const torch::Tensor& p = parameters_[k];
    DUNET_ASSERT(p.is_contiguous());
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (!current.parameters.empty() && current_bytes + bytes > cap) {
      close_bucket();
      offset = 0;
    }
    bucket_of_[k] = buckets_.size();
    slot_of_[k] = current.parameters.size();
    current.parameters.push_back(k);
    current.offsets.push_back(offset);
    offset += p.numel();
    current_bytes += bytes;
  }
  close_bucket();
  stats_.num_buckets = static_cast<int64_t>(buckets_.size());
  stats_.bucket_bytes = bucket_bytes;

  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    const Bucket& bucket = buckets_[bucket_of_[k]];
    views_.push_back(bucket.flat.narrow(0, bucket.offsets[slot_of_[k]], parameters_[k].numel())
                         .view_as(parameters_[k]));
    if (parameters_[k].grad().defined()) views_[k].copy_(parameters_[k].grad());
    parameters_[k].mutable_grad() = views_[k];
    accumulators_.push_back(torch::autograd::impl::grad_accumulator(parameters_[k]));
    hook_keys_.push_back(
        accumulators_[k]->add_post_hook(std::make_unique<AccumulatedHook>(this, k)));
  }
  thread_ = std::thread([this] { communication_loop(); });
}

GradientReducer::~GradientReducer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  for (size_t k = 0; k < accumulators_.size(); ++k) accumulators_[k]->del_post_hook(hook_keys_[k]);
}

void GradientReducer::reset_stats() {
  stats_.allreduce_seconds = 0;
  stats_.exposed_seconds = 0;
}

void GradientReducer::zero_grad() {
  for (auto& p : parameters_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

void GradientReducer::prepare_for_backward(bool sync) {
  std::lock_guard<std::mutex> lock(mutex_);
  DUNET_ASSERT(!active_);
  sync_ = sync;
  if (!sync) return;
  if (!device_.is_cpu()) {
    producer_stream_ = c10::impl::VirtualGuardImpl(device_.type()).getStream(device_);
  }
  for (auto& bucket : buckets_) {
    bucket.pending = static_cast<int64_t>(bucket.parameters.size());
    bucket.ready = false;
  }
  std::fill(filled_.begin(), filled_.end(), false);
  next_bucket_ = 0;
  active_ = !buckets_.empty();
}

void GradientReducer::finalize_slot(size_t k) {
  torch::Tensor& p = parameters_[k];
  const torch::Tensor& grad = p.grad();
  if (!grad.defined() || grad.data_ptr() != views_[k].data_ptr()) {
    // .grad was replaced (set to None, or by other code): bring it back into the bucket.
    if (grad.defined()) {
      views_[k].copy_(grad);
    } else {
      views_[k].zero_();
    }
    p.mutable_grad() = views_[k];
  }
  views_[k].mul_(scale_);  // averaging: the all-reduce sums
  filled_[k] = true;
}

void GradientReducer::on_accumulated(size_t k) {
  if (!sync_ || filled_[k]) return;
  torch::NoGradGuard no_grad;
  finalize_slot(k);
  Bucket& bucket = buckets_[bucket_of_[k]];
  if (--bucket.pending == 0) mark_ready(bucket);
}

void GradientReducer::mark_ready(Bucket& bucket) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bucket.ready = true;
  }
  changed_.notify_all();
}

void GradientReducer::communication_loop() {
  while (true) {
    Bucket* bucket = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Buckets are reduced strictly in index order, the same on every rank.
      changed_.wait(lock,
                    [this] { return stopping_ || (active_ && buckets_[next_bucket_].ready); });
      if (stopping_) return;
      bucket = &buckets_[next_bucket_];
    }
    const auto start = Clock::now();
    try {
      c10::OptionalStreamGuard stream_guard;  // device and stream of the training thread
      if (producer_stream_) stream_guard.reset_stream(*producer_stream_);
      comm_->all_reduce(bucket->flat, launcher::ReduceOp::kSum);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.allreduce_seconds += std::chrono::duration<double>(Clock::now() - start).count();
      if (error_ || ++next_bucket_ == buckets_.size()) active_ = false;
    }
    changed_.notify_all();
  }
}

void GradientReducer::finish() {
  if (!sync_) return;
  torch::NoGradGuard no_grad;
  // Parameters that took no part in this backward still contribute (zeros or their
  // accumulated gradient), so every rank reduces every bucket.
  for (size_t k = 0; k < parameters_.size(); ++k) {
    if (filled_[k]) continue;
    finalize_slot(k);
    Bucket& bucket = buckets_[bucket_of_[k]];
    if (--bucket.pending == 0) mark_ready(bucket);
  }
  const auto start = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !active_; });
  stats_.exposed_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  sync_ = false;
  if (error_) {
    auto error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
}

}  // namespace dunet::trainer
