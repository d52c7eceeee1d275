// The headers on their own, as C++17.
#include <ronn/ronn.h>
#include <ronn/ronn.hpp>
int ronn_header_cxx17_ok() { return RONN_API_VERSION > 0 ? 1 : 0; }
