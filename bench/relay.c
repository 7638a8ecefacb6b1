/*
 * relay.c - the floor for bench/floor.py: the least a broker could do with
 * a produce stream.  It accepts one connection, reads size-prefixed request
 * frames, appends each frame's bytes to a file with write(2) and answers
 * each with a minimal response (size, correlation id, empty body), on one
 * thread with blocking I/O.  No parsing, validation, indexes or offsets.
 *
 *     relay <port> <output file>
 * Prints "ready" once listening; exits when the connection closes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: relay <port> <output file>\n");
        return 2;
    }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (out < 0 || ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
        perror("relay");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    int c = accept(ls, NULL, NULL);
    if (c < 0)
        return 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    for (;;) {
        uint8_t hdr[4];
        if (read_full(c, hdr, 4) < 0)
            break;
        uint32_t n = ntohl(*(uint32_t *)hdr);
        if (n < 8 || n > (1u << 30))
            break;
        if (n > cap) {
            cap = n;
            buf = realloc(buf, cap);
            if (!buf)
                return 1;
        }
        if (read_full(c, buf, n) < 0 || write_full(out, buf, n) < 0)
            break;
        uint8_t resp[8];
        uint32_t len = htonl(4);
        memcpy(resp, &len, 4);
        memcpy(resp + 4, buf + 4, 4);   /* correlation id */
        if (write_full(c, resp, sizeof(resp)) < 0)
            break;
    }
    free(buf);
    close(c);
    close(out);
    return 0;
}
