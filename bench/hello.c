/*
 * The reference for bench/run: the smallest useful libfcgi program, N
 * pre-forked workers answering a constant JSON body. What latchkeyd would
 * cost if it did no work at all.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <fcgiapp.h>

int
main(int argc, char *argv[])
{
	FCGX_Request	 r;
	int		 fd, i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: hello socket workers\n");
		return 1;
	}
	FCGX_Init();
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) < 0)
		return 1;
	n = atoi(argv[2]);
	for (i = 0; i < n; i++)
		if (fork() == 0) {
			FCGX_InitRequest(&r, fd, 0);
			while (FCGX_Accept_r(&r) >= 0)
				FCGX_FPrintF(r.out, "Status: 200 OK\r\n"
				    "Content-Type: application/json\r\n\r\n"
				    "{\"status\":\"ok\"}");
			return 0;
		}
	while (wait(NULL) > 0)
		continue;
	return 0;
}
