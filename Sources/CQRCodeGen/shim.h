// Nayuki's QR Code generator (Debian's libqrcodegen-dev).
#include <qrcodegen/qrcodegen.h>

// qrcodegen_BUFFER_LEN_MAX is a function-like macro, which Swift does not import.
static const size_t countersign_qrcodegen_buffer_length = qrcodegen_BUFFER_LEN_MAX;
