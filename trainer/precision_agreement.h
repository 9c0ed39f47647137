// train.precision = "auto" is resolved by each rank from its own hardware
// (kernels::auto_precision); the ranks then agree on one precision, so that a run computes the
// same function wherever its ranks land (a job over nodes of two GPU generations, say).
#pragma once

#include "kernels/precision.h"
#include "launcher/communicator.h"

namespace dunet::trainer {

// `local` when every rank passes the same precision, fp32 otherwise. Collective: every rank
// calls it.
kernels::Precision agree_on_precision(kernels::Precision local, launcher::Communicator& comm);

}  // namespace dunet::trainer
