#include "launcher/mpi_world.h"

#include <cstdlib>
#include <chrono>
#include <initializer_list>
#include <thread>

#include "core/error.h"

namespace dunet::launcher {

void mpi_check(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  MPI_Get_library_version(version, &length);
  int rank = -1;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::string library(version);
  library = library.substr(0, library.find_first_of(",\n"));
  throw CommError("MPI error on rank " + std::to_string(rank) + " in " + call + " at " + file +
                  ":" + std::to_string(line) + ": " + text + " (" + library + ")");
}

bool MpiWorld::launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

std::pair<int, int> MpiWorld::rank_from_launcher() {
  const auto read = [](std::initializer_list<const char*> names, int fallback) {
    for (const char* name : names) {
      if (const char* value = std::getenv(name)) return std::atoi(value);
    }
    return fallback;
  };
  return {read({"PMIX_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK"}, 0),
          read({"OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS", "PMI_SIZE"}, 1)};
}

MpiWorld::MpiWorld(int* argc, char*** argv) {
  DUNET_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &thread_level_));
  // Errors come back as codes, which DUNET_MPI_CHECK turns into exceptions with context.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  // The reducer's communication thread, sync BatchNorm on the training thread and the
  // watchdog's roll call may all be in MPI at once: SERIALIZED would not be enough.
  DUNET_CHECK(thread_level_ == MPI_THREAD_MULTIPLE, CommError, "MPI provides thread level ",
              thread_level_, " but dunet needs MPI_THREAD_MULTIPLE (", MPI_THREAD_MULTIPLE,
              "): its threads call MPI at the same time; use an MPI built with thread support "
              "(Debian's OpenMPI is)");
  world_ = MPI_COMM_WORLD;
  DUNET_MPI_CHECK(MPI_Comm_rank(world_, &rank_));
  DUNET_MPI_CHECK(MPI_Comm_size(world_, &size_));
  MPI_Comm local = MPI_COMM_NULL;
  DUNET_MPI_CHECK(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  DUNET_MPI_CHECK(MPI_Comm_rank(local, &local_rank_));
  DUNET_MPI_CHECK(MPI_Comm_size(local, &local_size_));
  MPI_Comm_free(&local);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  DUNET_MPI_CHECK(MPI_Get_processor_name(name, &length));
  std::vector<char> names(static_cast<size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
  DUNET_MPI_CHECK(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(),
                                MPI_MAX_PROCESSOR_NAME, MPI_CHAR, world_));
  for (int rank = 0; rank < size_; ++rank) {
    host_of_rank_.emplace_back(&names[static_cast<size_t>(rank) * MPI_MAX_PROCESSOR_NAME]);
  }
}

MpiWorld::~MpiWorld() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiWorld::abort(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  // MPI_Abort tells the launcher, which may be out of reach (a node's link cut): end this
  // process a few seconds later whatever MPI_Abort does meanwhile.
  std::thread([code] {
    std::this_thread::sleep_for(std::chrono::seconds(kAbortGraceSeconds));
    std::_Exit(code);
  }).detach();
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace dunet::launcher
