/* Raw FastCGI client for tests (placeholder). */
#include "fcgi.h"
