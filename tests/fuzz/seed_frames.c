/*
 * seed_frames.c - cuts capture files into fuzz_decode seed inputs.
 *
 * usage: seed_frames OUTDIR MAX_PER_FILE FILE...
 *
 * Each frame of each readable capture becomes one file OUTDIR/<file#>-<n>:
 * one byte naming its link type as fuzz_decode reads it (the enum sp_link
 * value), then the captured bytes. Files with a link type the decoder does
 * not handle are skipped, as are files libpcap cannot open; at most
 * MAX_PER_FILE frames are taken from each. Prints how many seeds it wrote.
 * A test tool: it may use libpcap directly.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "capture/decode.h"

/* As capture/source_pcap.c maps pcap_datalink() values. */
static int link_of(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
        return SP_LINK_ETHER;
    case DLT_LINUX_SLL:
        return SP_LINK_SLL;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        return SP_LINK_SLL2;
#endif
    case DLT_RAW:
        return SP_LINK_RAW;
    case DLT_IPV4:
        return SP_LINK_IPV4;
    case DLT_IPV6:
        return SP_LINK_IPV6;
    case DLT_NULL:
        return SP_LINK_NULL;
    case DLT_LOOP:
        return SP_LINK_LOOP;
    default:
        return -1;
    }
}

int main(int argc, char **argv)
{
    unsigned long written = 0, max;

    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTDIR MAX_PER_FILE FILE...\n", argv[0]);
        return 2;
    }
    max = strtoul(argv[2], NULL, 10);
    for (int i = 3; i < argc; i++) {
        char eb[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(argv[i], eb);
        struct pcap_pkthdr *h;
        const u_char *data;
        unsigned long n = 0;
        int link;

        if (p == NULL)
            continue;
        link = link_of(pcap_datalink(p));
        while (link >= 0 && n < max && pcap_next_ex(p, &h, &data) == 1) {
            char path[4096];
            FILE *f;
            snprintf(path, sizeof(path), "%s/%d-%lu", argv[1], i - 3, n);
            f = fopen(path, "wb");
            if (f == NULL) {
                perror(path);
                pcap_close(p);
                return 1;
            }
            fputc(link, f);
            fwrite(data, 1, h->caplen, f);
            if (fclose(f) != 0) {
                perror(path);
                pcap_close(p);
                return 1;
            }
            n++;
            written++;
        }
        pcap_close(p);
    }
    printf("%lu\n", written);
    return 0;
}
