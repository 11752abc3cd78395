/* Raw FastCGI client for tests: see fcgi.c. */
