// A world of one process: every collective is the identity. Used when dunet runs without a
// launcher and in unit tests.
#pragma once

#include "launcher/communicator.h"

namespace dunet::launcher {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string name() const override { return "local"; }
  std::string library_version() const override { return ""; }

  void all_reduce(at::Tensor& /*tensor*/, ReduceOp /*op*/) override {}
  void broadcast(at::Tensor& /*tensor*/, int /*root*/) override {}
  void barrier() override {}
  std::vector<int64_t> all_gather(int64_t value) override { return {value}; }
  std::vector<double> all_reduce_sum(const std::vector<double>& values) override { return values; }
  std::unique_ptr<Communicator> duplicate() override {
    return std::make_unique<LocalCommunicator>();
  }
};

}  // namespace dunet::launcher
