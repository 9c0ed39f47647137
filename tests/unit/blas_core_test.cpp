// The OpenBLAS core dunet forces where OpenBLAS fell back to its generic kernels.
#include <gtest/gtest.h>

#include "kernels/blas_core.h"

namespace {

using dunet::kernels::CpuVectorFeatures;
using dunet::kernels::fitting_openblas_core;

TEST(OpenblasCore, TheGenericFallbackIsReplacedByTheCpusVectorUnits) {
  EXPECT_EQ(fitting_openblas_core("Prescott", {true, true}), "SkylakeX");
  EXPECT_EQ(fitting_openblas_core("Prescott", {true, false}), "Haswell");
  EXPECT_EQ(fitting_openblas_core("Sandybridge", {true, false}), "Haswell");
  // A CPU without AVX2 keeps the generic kernels.
  EXPECT_EQ(fitting_openblas_core("Prescott", {false, false}), std::nullopt);
}

TEST(OpenblasCore, AChoiceWithAvx2Stands) {
  EXPECT_EQ(fitting_openblas_core("SkylakeX", {true, true}), std::nullopt);
  EXPECT_EQ(fitting_openblas_core("Cooperlake", {true, true}), std::nullopt);
  EXPECT_EQ(fitting_openblas_core("Zen", {true, true}), std::nullopt);
  // OpenBLAS picks Haswell where the system does not save the AVX-512 registers.
  EXPECT_EQ(fitting_openblas_core("Haswell", {true, true}), std::nullopt);
}

}  // namespace
