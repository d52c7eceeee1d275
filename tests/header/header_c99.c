/* The header on its own, as C99 (-Wall -Wextra -Werror -pedantic). */
#include <ronn/ronn.h>
int ronn_header_c99_ok(void) { return RONN_API_VERSION > 0 && RONN_STATUS_OK == 0; }
