// Fuzzes the PNG-to-sample path: any file must decode into an image and mask or give a
// DataError naming it, nothing else.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>

#include "core/error.h"
#include "data/image_io.h"
#include "data/source_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char dir[] = "/tmp/dunet-png-fuzz-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 0;
  const std::string image = std::string(dir) + "/image.png";
  std::ofstream(image, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    dunet::data::read_image(image, 3);
    dunet::data::read_image(image, 1);
    // The same bytes as a mask of the sample.
    dunet::data::load_source_sample({"fuzz", image, {image}}, 3);
  } catch (const dunet::DataError&) {
  }
  unlink(image.c_str());
  rmdir(dir);
  return 0;
}
