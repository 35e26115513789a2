/*
 * pcapread.c - the floor for offline speed: a bare pcap_next_ex loop over a
 * file that only counts packets and bytes (bench/offline_bench.sh).
 *
 *   pcapread FILE
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char eb[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0;
    unsigned sum = 0;
    pcap_t *p;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: pcapread FILE\n");
        return 2;
    }
    p = pcap_open_offline_with_tstamp_precision(argv[1],
                                                PCAP_TSTAMP_PRECISION_NANO, eb);
    if (p == NULL) {
        fprintf(stderr, "pcapread: %s\n", eb);
        return 1;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->caplen;
        if (h->caplen > 0)
            sum += data[0]; /* touch the bytes, as any reader must */
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcapread: %s\n", pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    printf("packets=%llu bytes=%llu check=%u\n", (unsigned long long)packets,
           (unsigned long long)bytes, sum);
    pcap_close(p);
    return 0;
}
