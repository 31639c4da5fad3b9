/*
 * udp-echo: the UDP half of the lab's test image (Debian's static busybox has no
 * `nc -u`). Built statically by .ci/setup-lab.
 *
 *   udp-echo serve PORT           answer every datagram with its own payload, forever
 *   udp-echo ask HOST PORT TEXT   send TEXT, print the answer; exit 1 after 3 s of silence
 *
 * HOST is an IPv4 address; the server listens on the IPv6 wildcard (dual stack) when it
 * can and falls back to IPv4, so it works in containers with or without IPv6.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int die(const char *what) {
    perror(what);
    return 2;
}

static int serve(int port) {
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd >= 0) {
        int off = 0;
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        if (bind(fd, (struct sockaddr *)&a6, sizeof a6) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0)
            return die("udp-echo: bind");
    }
    for (;;) {
        char buf[2048];
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
    }
}

static int ask(const char *host, int port, const char *text) {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval timeout = {.tv_sec = 3};
    char buf[2048];
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return die("udp-echo: socket");
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "udp-echo: not an IPv4 address: %s\n", host);
        return 2;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    /* connect() so that only the answer from HOST:PORT (after de-NAT) is accepted */
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
        return die("udp-echo: connect");
    if (send(fd, text, strlen(text), 0) < 0)
        return die("udp-echo: send");
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) {
        perror("udp-echo: no answer");
        return 1;
    }
    buf[n] = 0;
    printf("%s\n", buf);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "ask") == 0)
        return ask(argv[2], atoi(argv[3]), argv[4]);
    fprintf(stderr, "usage: udp-echo serve PORT | udp-echo ask HOST PORT TEXT\n");
    return 2;
}
