/*
 * test_decode.c - the packet decoder (capture/decode.c) and its cursor.
 *
 * A table of hand-made packets with the fields the decoder must report
 * (after scamper's tests/unit_dl_parse_ip.c). The bytes were checked with
 * tcpdump. Every packet that decodes OK is also fed cut at each shorter
 * length, expecting SP_DECODE_TRUNCATED, and the table is fuzzed with
 * random byte changes to look for crashes (run the sanitizer build).
 *
 * Addresses: prober 192.0.2.1 / 2001:db8::1, target 198.51.100.7 /
 * 2001:db8::7, router 203.0.113.5 / 2001:db8:ff::1.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cursor.h"
#include "capture/decode.h"
#include "tests/helpers.h"

/* ---- packets ------------------------------------------------------------ */

static const char pkt_eth_syn[] = /* 74 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 3c 12 34 40 00 40 06 3c 4c c0 00 02 01 c6 33 "
    "64 07 9c 40 01 bb 11 22 33 44 00 00 00 00 a0 02 "
    "fa f0 00 00 00 00 02 04 05 b4 04 02 08 0a 00 01 "
    "e2 40 00 00 00 00 01 03 03 07";
static const char pkt_eth_synack[] = /* 74 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 3c 00 00 40 00 39 06 55 80 c6 33 64 07 c0 00 "
    "02 01 01 bb 9c 40 a0 b0 c0 d0 11 22 33 45 a0 12 "
    "fe 88 00 00 00 00 02 04 05 b4 04 02 08 0a 00 ab "
    "cd ef 00 01 e2 40 01 03 03 07";
static const char pkt_eth_rstack[] = /* 54 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 28 00 00 40 00 39 06 55 94 c6 33 64 07 c0 00 "
    "02 01 01 bb 9c 40 00 00 00 00 11 22 33 45 50 14 "
    "00 00 00 00 00 00";
static const char pkt_vlan_syn[] = /* 78 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 81 00 00 64 "
    "08 00 45 00 00 3c 12 34 40 00 40 06 3c 4c c0 00 "
    "02 01 c6 33 64 07 9c 40 01 bb 11 22 33 44 00 00 "
    "00 00 a0 02 fa f0 00 00 00 00 02 04 05 b4 04 02 "
    "08 0a 00 01 e2 40 00 00 00 00 01 03 03 07";
static const char pkt_qinq_synack[] = /* 82 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 88 a8 00 c8 "
    "81 00 00 64 08 00 45 00 00 3c 00 00 40 00 39 06 "
    "55 80 c6 33 64 07 c0 00 02 01 01 bb 9c 40 a0 b0 "
    "c0 d0 11 22 33 45 a0 12 fe 88 00 00 00 00 02 04 "
    "05 b4 04 02 08 0a 00 ab cd ef 00 01 e2 40 01 03 "
    "03 07";
static const char pkt_sll_synack[] = /* 76 bytes */
    "00 00 00 01 00 06 02 00 00 00 00 02 00 00 08 00 "
    "45 00 00 3c 00 00 40 00 39 06 55 80 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 a0 b0 c0 d0 11 22 33 45 "
    "a0 12 fe 88 00 00 00 00 02 04 05 b4 04 02 08 0a "
    "00 ab cd ef 00 01 e2 40 01 03 03 07";
static const char pkt_sll2_synack6[] = /* 100 bytes */
    "86 dd 00 00 00 00 00 03 00 01 00 06 02 00 00 00 "
    "00 02 00 00 60 01 23 45 00 28 06 37 20 01 0d b8 "
    "00 00 00 00 00 00 00 00 00 00 00 07 20 01 0d b8 "
    "00 00 00 00 00 00 00 00 00 00 00 01 00 16 9c 41 "
    "01 02 03 04 55 66 77 89 a0 12 fb 04 00 00 00 00 "
    "02 04 05 b4 04 02 08 0a 00 ab cd ef 00 01 e2 40 "
    "01 03 03 07";
static const char pkt_raw_rstack[] = /* 40 bytes */
    "45 00 00 28 00 00 40 00 39 06 55 94 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 11 22 33 45 "
    "50 14 00 00 00 00 00 00";
static const char pkt_raw_rst6[] = /* 60 bytes */
    "60 01 23 45 00 14 06 37 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 00 16 9c 41 00 00 00 00 "
    "55 66 77 89 50 14 00 00 00 00 00 00";
static const char pkt_null_le_syn[] = /* 64 bytes */
    "02 00 00 00 45 00 00 3c 12 34 40 00 40 06 3c 4c "
    "c0 00 02 01 c6 33 64 07 9c 40 01 bb 11 22 33 44 "
    "00 00 00 00 a0 02 fa f0 00 00 00 00 02 04 05 b4 "
    "04 02 08 0a 00 01 e2 40 00 00 00 00 01 03 03 07";
static const char pkt_null_be_syn6[] = /* 84 bytes */
    "00 00 00 1e 60 01 23 45 00 28 06 40 20 01 0d b8 "
    "00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 "
    "00 00 00 00 00 00 00 00 00 00 00 07 9c 41 00 16 "
    "55 66 77 88 00 00 00 00 a0 02 fd 20 00 00 00 00 "
    "02 04 05 b4 04 02 08 0a 00 01 e2 40 00 00 00 00 "
    "01 03 03 07";
static const char pkt_null_le_syn6_28[] = /* 84 bytes */
    "1c 00 00 00 60 01 23 45 00 28 06 40 20 01 0d b8 "
    "00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 "
    "00 00 00 00 00 00 00 00 00 00 00 07 9c 41 00 16 "
    "55 66 77 88 00 00 00 00 a0 02 fd 20 00 00 00 00 "
    "02 04 05 b4 04 02 08 0a 00 01 e2 40 00 00 00 00 "
    "01 03 03 07";
static const char pkt_loop_synack[] = /* 64 bytes */
    "00 00 00 02 45 00 00 3c 00 00 40 00 39 06 55 80 "
    "c6 33 64 07 c0 00 02 01 01 bb 9c 40 a0 b0 c0 d0 "
    "11 22 33 45 a0 12 fe 88 00 00 00 00 02 04 05 b4 "
    "04 02 08 0a 00 ab cd ef 00 01 e2 40 01 03 03 07";
static const char pkt_ip4opts_syn[] = /* 48 bytes */
    "47 00 00 30 12 34 40 00 40 06 a4 52 c0 00 02 01 "
    "c6 33 64 07 94 04 00 00 01 01 01 00 9c 40 01 bb "
    "11 22 33 44 00 00 00 00 50 02 fa f0 00 00 00 00";
static const char pkt_eth_synack6[] = /* 94 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 86 dd 60 01 "
    "23 45 00 28 06 37 20 01 0d b8 00 00 00 00 00 00 "
    "00 00 00 00 00 07 20 01 0d b8 00 00 00 00 00 00 "
    "00 00 00 00 00 01 00 16 9c 41 01 02 03 04 55 66 "
    "77 89 a0 12 fb 04 00 00 00 00 02 04 05 b4 04 02 "
    "08 0a 00 ab cd ef 00 01 e2 40 01 03 03 07";
static const char pkt_ip6ext_syn[] = /* 84 bytes */
    "60 01 23 45 00 2c 00 40 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 3c 00 01 04 00 00 00 00 "
    "06 01 01 0c 00 00 00 00 00 00 00 00 00 00 00 00 "
    "9c 41 00 16 55 66 77 88 00 00 00 00 50 02 fd 20 "
    "00 00 00 00";
static const char pkt_echo_req4[] = /* 44 bytes */
    "45 00 00 2c be ef 00 00 40 01 cf a5 c0 00 02 01 "
    "c6 33 64 07 08 00 7d 76 42 42 00 07 00 01 02 03 "
    "04 05 06 07 08 09 0a 0b 0c 0d 0e 0f";
static const char pkt_echo_rep4[] = /* 44 bytes */
    "45 00 00 2c 0a 0b 00 00 39 01 8b 8a c6 33 64 07 "
    "c0 00 02 01 00 00 85 76 42 42 00 07 00 01 02 03 "
    "04 05 06 07 08 09 0a 0b 0c 0d 0e 0f";
static const char pkt_echo_req6[] = /* 64 bytes */
    "60 01 23 45 00 18 3a 40 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 80 00 12 34 42 43 00 09 "
    "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f";
static const char pkt_echo_rep6[] = /* 64 bytes */
    "60 01 23 45 00 18 3a 37 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 81 00 12 34 42 43 00 09 "
    "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f";
static const char pkt_unreach_port_full[] = /* 68 bytes */
    "45 c0 00 44 77 77 00 00 39 01 1d 46 c6 33 64 07 "
    "c0 00 02 01 03 03 cf a7 00 00 00 00 45 00 00 28 "
    "12 34 40 00 34 06 48 60 c0 00 02 01 c6 33 64 07 "
    "9c 40 01 bb 11 22 33 44 00 00 00 00 50 02 fa f0 "
    "00 00 00 00";
static const char pkt_unreach_host_8[] = /* 56 bytes */
    "45 00 00 38 01 01 00 00 fa 01 c1 bc cb 00 71 05 "
    "c0 00 02 01 03 01 1a 9d 00 00 00 00 45 00 00 28 "
    "12 34 40 00 34 06 48 60 c0 00 02 01 c6 33 64 07 "
    "9c 40 01 bb 11 22 33 44";
static const char pkt_timex_udp[] = /* 56 bytes */
    "45 00 00 38 02 02 00 00 fe 01 bc bb cb 00 71 05 "
    "c0 00 02 01 0b 00 9e 0a 00 00 00 00 45 00 00 3c "
    "22 22 00 00 01 11 ab 53 c0 00 02 01 c6 33 64 07 "
    "d4 31 82 9b 00 28 00 00";
static const char pkt_unreach_admin_syn[] = /* 88 bytes */
    "45 00 00 58 03 03 00 00 fd 01 bc 9a cb 00 71 05 "
    "c0 00 02 01 03 0d 85 8d 00 00 00 00 45 00 00 3c "
    "12 34 40 00 40 06 3c 4c c0 00 02 01 c6 33 64 07 "
    "9c 40 01 bb 11 22 33 44 00 00 00 00 a0 02 fa f0 "
    "00 00 00 00 02 04 05 b4 04 02 08 0a 00 01 e2 40 "
    "00 00 00 00 01 03 03 07";
static const char pkt_fragneeded[] = /* 56 bytes */
    "45 00 00 38 04 04 00 00 fd 01 bb b9 cb 00 71 05 "
    "c0 00 02 01 03 04 15 22 00 00 05 78 45 00 00 3c "
    "12 34 40 00 40 06 3c 4c c0 00 02 01 c6 33 64 07 "
    "9c 40 01 bb 11 22 33 44";
static const char pkt_unreach6_port[] = /* 108 bytes */
    "60 01 23 45 00 44 3a 3d 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 01 04 12 34 00 00 00 00 "
    "60 01 23 45 00 14 06 3d 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 9c 41 00 16 55 66 77 88 "
    "00 00 00 00 50 02 fd 20 00 00 00 00";
static const char pkt_timex6_udp[] = /* 120 bytes */
    "60 01 23 45 00 50 3a 3f 20 01 0d b8 00 ff 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 03 00 12 34 00 00 00 00 "
    "60 01 23 45 00 20 11 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 d4 31 82 9b 00 20 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00";
static const char pkt_toobig6[] = /* 136 bytes */
    "60 01 23 45 00 60 3a 3f 20 01 0d b8 00 ff 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 02 00 12 34 00 00 05 00 "
    "60 01 23 45 05 a0 06 40 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 9c 41 00 16 55 66 77 88 "
    "00 00 10 00 80 18 01 f5 00 00 00 00 01 01 08 0a "
    "00 01 e2 40 00 00 ab cd 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00";
static const char pkt_frag4_later[] = /* 40 bytes */
    "45 00 00 28 33 33 00 b9 39 11 61 9d c6 33 64 07 "
    "c0 00 02 01 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00";
static const char pkt_frag6_later[] = /* 64 bytes */
    "60 01 23 45 00 18 2c 37 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 11 00 05 a9 de ad be ef "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
static const char pkt_eth_pad_rstack[] = /* 60 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 28 00 00 40 00 39 06 55 94 c6 33 64 07 c0 00 "
    "02 01 01 bb 9c 40 00 00 00 00 11 22 33 45 50 14 "
    "00 00 00 00 00 00 00 00 00 00 00 00";
static const char pkt_icmp_noquote[] = /* 28 bytes */
    "45 00 00 1c 00 05 00 00 fe 01 be d4 cb 00 71 05 "
    "c0 00 02 01 0b 00 f4 ff 00 00 00 00";
static const char pkt_ihl4[] = /* 40 bytes */
    "44 00 00 28 12 34 40 00 40 06 3d 60 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 00 00 00 01 "
    "50 14 00 00 00 00 00 00";
static const char pkt_ihl15_short[] = /* 40 bytes */
    "4f 00 00 50 12 34 40 00 40 06 32 38 c6 33 64 07 "
    "c0 00 02 01 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00";
static const char pkt_doff3[] = /* 40 bytes */
    "45 00 00 28 12 34 40 00 40 06 3c 60 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 00 00 00 01 "
    "30 14 00 00 00 00 00 00";
static const char pkt_version5[] = /* 40 bytes */
    "55 00 00 28 00 00 40 00 39 06 55 94 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 11 22 33 45 "
    "50 14 00 00 00 00 00 00";
static const char pkt_iplen_lies[] = /* 40 bytes */
    "45 00 ff ff 00 00 40 00 39 06 55 bc c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 11 22 33 45 "
    "50 14 00 00 00 00 00 00";
static const char pkt_arp[] = /* 42 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 08 06 00 01 "
    "08 00 06 04 00 01 02 00 00 00 00 01 c0 00 02 01 "
    "00 00 00 00 00 00 c6 33 64 07";
static const char pkt_unreach_badquote[] = /* 56 bytes */
    "45 00 00 38 01 01 00 00 fa 01 c1 bc cb 00 71 05 "
    "c0 00 02 01 03 01 17 f4 00 00 00 00 60 01 23 45 "
    "00 14 06 3d 20 01 0d b8 00 00 00 00 00 00 00 00 "
    "00 00 00 01 20 01 0d b8";
static const char pkt_unreach_quote10[] = /* 38 bytes */
    "45 00 00 26 01 01 00 00 fa 01 c1 ce cb 00 71 05 "
    "c0 00 02 01 03 01 31 9c 00 00 00 00 45 00 00 28 "
    "12 34 40 00 34 06";
static const char pkt_ip6ext_bad[] = /* 68 bytes */
    "60 01 23 45 00 1c 00 40 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 06 0a 01 04 00 00 00 00 "
    "9c 41 00 16 55 66 77 88 00 00 00 00 50 02 fd 20 "
    "00 00 00 00";
static const char pkt_doff15[] = /* 40 bytes */
    "45 00 00 28 12 34 40 00 40 06 3c 60 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 00 00 00 01 "
    "f0 14 00 00 00 00 00 00";
static const char pkt_totlen_small[] = /* 40 bytes */
    "45 00 00 10 12 34 40 00 40 06 3c 78 c6 33 64 07 "
    "c0 00 02 01 01 bb 9c 40 00 00 00 00 00 00 00 01 "
    "50 14 00 00 00 00 00 00";
static const char pkt_ip6ext_9[] = /* 132 bytes */
    "60 01 23 45 00 5c 3c 40 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 3c 00 01 04 00 00 00 00 "
    "3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00 "
    "3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00 "
    "3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00 "
    "3c 00 01 04 00 00 00 00 06 00 01 04 00 00 00 00 "
    "9c 41 00 16 55 66 77 88 00 00 00 00 50 02 fd 20 "
    "00 00 00 00";
static const char pkt_null_af7[] = /* 64 bytes */
    "07 00 00 00 45 00 00 3c 12 34 40 00 40 06 3c 4c "
    "c0 00 02 01 c6 33 64 07 9c 40 01 bb 11 22 33 44 "
    "00 00 00 00 a0 02 fa f0 00 00 00 00 02 04 05 b4 "
    "04 02 08 0a 00 01 e2 40 00 00 00 00 01 03 03 07";
static const char pkt_loop_le[] = /* 64 bytes */
    "02 00 00 00 45 00 00 3c 00 00 40 00 39 06 55 80 "
    "c6 33 64 07 c0 00 02 01 01 bb 9c 40 a0 b0 c0 d0 "
    "11 22 33 45 a0 12 fe 88 00 00 00 00 02 04 05 b4 "
    "04 02 08 0a 00 ab cd ef 00 01 e2 40 01 03 03 07";
static const char pkt_vlan3[] = /* 86 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 88 a8 00 01 "
    "81 00 00 02 81 00 00 03 08 00 45 00 00 3c 12 34 "
    "40 00 40 06 3c 4c c0 00 02 01 c6 33 64 07 9c 40 "
    "01 bb 11 22 33 44 00 00 00 00 a0 02 fa f0 00 00 "
    "00 00 02 04 05 b4 04 02 08 0a 00 01 e2 40 00 00 "
    "00 00 01 03 03 07";
static const char pkt_sll_arp[] = /* 44 bytes */
    "00 00 00 01 00 06 02 00 00 00 00 02 00 00 08 06 "
    "00 01 08 00 06 04 00 01 02 00 00 00 00 01 c0 00 "
    "02 01 00 00 00 00 00 00 c6 33 64 07";
static const char pkt_udp4[] = /* 54 bytes */
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 28 44 44 00 00 3c 11 4e 45 c6 33 64 07 c0 00 "
    "02 01 00 35 80 e8 00 14 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00";
static const char pkt_udp_short[] = /* 26 bytes */
    "45 00 00 1a 12 34 40 00 40 11 3c 63 c6 33 64 07 "
    "c0 00 02 01 00 35 80 e8 00 08";
static const char pkt_icmp_short[] = /* 24 bytes */
    "45 00 00 18 12 34 40 00 40 01 3c 75 c6 33 64 07 "
    "c0 00 02 01 00 00 ff ff";
static const char pkt_jumbo6[] = /* 60 bytes */
    "60 01 23 45 00 00 06 37 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 00 16 9c 41 00 00 00 00 "
    "55 66 77 89 50 14 00 00 00 00 00 00";
static const char pkt_ip6_ah[] = /* 84 bytes */
    "60 01 23 45 00 2c 33 37 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 07 20 01 0d b8 00 00 00 00 "
    "00 00 00 00 00 00 00 01 06 04 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 16 9c 41 00 00 00 00 55 66 77 89 50 14 00 00 "
    "00 00 00 00";
static const char pkt_timex_ext[] = /* 164 bytes */
    "45 00 00 a4 06 06 00 00 fe 01 b8 4b cb 00 71 05 "
    "c0 00 02 01 0b 00 d1 32 00 20 00 00 45 00 00 1c "
    "22 23 00 00 01 11 ab 72 c0 00 02 01 c6 33 64 07 "
    "d4 31 82 9c 00 08 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 20 00 ab cd "
    "00 08 01 01";
static const char pkt_frag4_first[] = /* 48 bytes */
    "45 00 00 30 55 55 20 00 40 06 19 37 c0 00 02 01 "
    "c6 33 64 07 9c 40 01 bb 11 22 33 44 00 00 00 00 "
    "50 02 fa f0 00 00 00 00 00 00 00 00 00 00 00 00";

/* ---- expected fields ---------------------------------------------------- */

#define P4 "192.0.2.1"
#define T4 "198.51.100.7"
#define R4 "203.0.113.5"
#define P6 "2001:db8::1"
#define T6 "2001:db8::7"
#define R6 "2001:db8:ff::1"

#define HAVE_TCP4 (SP_HAVE_IP | SP_HAVE_TCP)
#define HAVE_ERR  (SP_HAVE_IP | SP_HAVE_ICMP | SP_HAVE_INNER | SP_HAVE_INNER_L4)

struct want_inner {
    const char *src, *dst;
    uint8_t ttl, proto;
    uint16_t ip_id, sport, dport;
    uint32_t seq;
    uint8_t tcp_flags, icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq, l4_len;
};

struct dcase {
    const char *name;
    enum sp_link link;
    const char *hex;
    enum sp_decode_result res;
    unsigned have;
    bool only_result; /* check res and have only */
    size_t pad;       /* trailing link-layer padding, not part of the IP */

    const char *src, *dst;
    uint8_t ttl, tos, proto;
    uint16_t ip_id;
    bool frag_later, more_frags;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t tcp_flags;
    uint16_t window;
    uint8_t tcp_optlen;
    uint16_t payload_len;
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq;
    uint32_t icmp_mtu;
    struct want_inner in;
};

/* The probe and reply fields that several cases share. */
#define SYN_FIELDS                                                             \
    .src = P4, .dst = T4, .ttl = 64, .proto = SP_PROTO_TCP, .ip_id = 0x1234,   \
    .sport = 40000, .dport = 443, .seq = 0x11223344, .tcp_flags = SP_TCP_SYN,  \
    .window = 64240
#define SYNACK_FIELDS                                                          \
    .src = T4, .dst = P4, .ttl = 57, .proto = SP_PROTO_TCP, .sport = 443,      \
    .dport = 40000, .seq = 0xa0b0c0d0, .ack = 0x11223345,                      \
    .tcp_flags = SP_TCP_SYN | SP_TCP_ACK, .window = 65160, .tcp_optlen = 20
#define RSTACK_FIELDS                                                          \
    .src = T4, .dst = P4, .ttl = 57, .proto = SP_PROTO_TCP, .sport = 443,      \
    .dport = 40000, .ack = 0x11223345, .tcp_flags = SP_TCP_RST | SP_TCP_ACK
#define SYN6_FIELDS                                                            \
    .src = P6, .dst = T6, .ttl = 64, .proto = SP_PROTO_TCP, .sport = 40001,    \
    .dport = 22, .seq = 0x55667788, .tcp_flags = SP_TCP_SYN, .window = 64800
#define SYNACK6_FIELDS                                                         \
    .src = T6, .dst = P6, .ttl = 55, .proto = SP_PROTO_TCP, .sport = 22,       \
    .dport = 40001, .seq = 0x01020304, .ack = 0x55667789,                      \
    .tcp_flags = SP_TCP_SYN | SP_TCP_ACK, .window = 64260, .tcp_optlen = 20
#define RST6_FIELDS                                                            \
    .src = T6, .dst = P6, .ttl = 55, .proto = SP_PROTO_TCP, .sport = 22,       \
    .dport = 40001, .ack = 0x55667789, .tcp_flags = SP_TCP_RST | SP_TCP_ACK
/* the quoted 40-byte SYN without options, as in pkt_syn_noopt */
#define QUOTED_SYN                                                             \
    .src = P4, .dst = T4, .proto = SP_PROTO_TCP, .ip_id = 0x1234,              \
    .sport = 40000, .dport = 443, .seq = 0x11223344

static const struct dcase cases[] = {
    /* link layers */
    {"eth_syn", SP_LINK_ETHER, pkt_eth_syn, SP_DECODE_OK, HAVE_TCP4,
     .tcp_optlen = 20, SYN_FIELDS},
    {"eth_synack", SP_LINK_ETHER, pkt_eth_synack, SP_DECODE_OK, HAVE_TCP4,
     SYNACK_FIELDS},
    {"eth_rstack", SP_LINK_ETHER, pkt_eth_rstack, SP_DECODE_OK, HAVE_TCP4,
     RSTACK_FIELDS},
    {"vlan_syn", SP_LINK_ETHER, pkt_vlan_syn, SP_DECODE_OK, HAVE_TCP4,
     .tcp_optlen = 20, SYN_FIELDS},
    {"qinq_synack", SP_LINK_ETHER, pkt_qinq_synack, SP_DECODE_OK, HAVE_TCP4,
     SYNACK_FIELDS},
    {"sll_synack", SP_LINK_SLL, pkt_sll_synack, SP_DECODE_OK, HAVE_TCP4,
     SYNACK_FIELDS},
    {"sll2_synack6", SP_LINK_SLL2, pkt_sll2_synack6, SP_DECODE_OK, HAVE_TCP4,
     SYNACK6_FIELDS},
    {"raw_rstack", SP_LINK_RAW, pkt_raw_rstack, SP_DECODE_OK, HAVE_TCP4,
     RSTACK_FIELDS},
    {"raw_rst6", SP_LINK_RAW, pkt_raw_rst6, SP_DECODE_OK, HAVE_TCP4,
     RST6_FIELDS},
    {"ipv4_rstack", SP_LINK_IPV4, pkt_raw_rstack, SP_DECODE_OK, HAVE_TCP4,
     RSTACK_FIELDS},
    {"ipv6_rst6", SP_LINK_IPV6, pkt_raw_rst6, SP_DECODE_OK, HAVE_TCP4,
     RST6_FIELDS},
    {"null_le_syn", SP_LINK_NULL, pkt_null_le_syn, SP_DECODE_OK, HAVE_TCP4,
     .tcp_optlen = 20, SYN_FIELDS},
    {"null_be_syn6", SP_LINK_NULL, pkt_null_be_syn6, SP_DECODE_OK, HAVE_TCP4,
     .tcp_optlen = 20, SYN6_FIELDS},
    {"null_le_syn6_28", SP_LINK_NULL, pkt_null_le_syn6_28, SP_DECODE_OK,
     HAVE_TCP4, .tcp_optlen = 20, SYN6_FIELDS},
    {"loop_synack", SP_LINK_LOOP, pkt_loop_synack, SP_DECODE_OK, HAVE_TCP4,
     SYNACK_FIELDS},
    {"eth_pad_rstack", SP_LINK_ETHER, pkt_eth_pad_rstack, SP_DECODE_OK,
     HAVE_TCP4, .pad = 6, RSTACK_FIELDS},

    /* IP options, IPv6 extension headers, UDP, fragments */
    {"ip4opts_syn", SP_LINK_RAW, pkt_ip4opts_syn, SP_DECODE_OK, HAVE_TCP4,
     SYN_FIELDS},
    {"eth_synack6", SP_LINK_ETHER, pkt_eth_synack6, SP_DECODE_OK, HAVE_TCP4,
     SYNACK6_FIELDS},
    {"ip6ext_syn", SP_LINK_RAW, pkt_ip6ext_syn, SP_DECODE_OK, HAVE_TCP4,
     SYN6_FIELDS},
    {"ip6_ah", SP_LINK_RAW, pkt_ip6_ah, SP_DECODE_OK, HAVE_TCP4, RST6_FIELDS},
    /* more extension headers than the walk allows: no transport */
    {"ip6ext_9", SP_LINK_RAW, pkt_ip6ext_9, SP_DECODE_OK, SP_HAVE_IP, .src = P6,
     .dst = T6, .ttl = 64, .proto = 60},
    /* payload length 0: a jumbogram, decoded up to what was captured */
    {"jumbo6", SP_LINK_RAW, pkt_jumbo6, SP_DECODE_OK, HAVE_TCP4, RST6_FIELDS},
    {"udp4", SP_LINK_ETHER, pkt_udp4, SP_DECODE_OK, SP_HAVE_IP | SP_HAVE_UDP,
     .src = T4, .dst = P4, .ttl = 60, .proto = SP_PROTO_UDP, .ip_id = 0x4444,
     .sport = 53, .dport = 33000, .payload_len = 12},
    {"frag4_first", SP_LINK_RAW, pkt_frag4_first, SP_DECODE_OK, HAVE_TCP4,
     .src = P4, .dst = T4, .ttl = 64, .proto = SP_PROTO_TCP, .ip_id = 0x5555,
     .more_frags = true, .sport = 40000, .dport = 443, .seq = 0x11223344,
     .tcp_flags = SP_TCP_SYN, .window = 64240, .payload_len = 8},
    {"frag4_later", SP_LINK_RAW, pkt_frag4_later, SP_DECODE_OK, SP_HAVE_IP,
     .src = T4, .dst = P4, .ttl = 57, .proto = SP_PROTO_UDP, .ip_id = 0x3333,
     .frag_later = true},
    {"frag6_later", SP_LINK_RAW, pkt_frag6_later, SP_DECODE_OK, SP_HAVE_IP,
     .src = T6, .dst = P6, .ttl = 55, .proto = SP_PROTO_UDP, .frag_later = true,
     .more_frags = true},

    /* ICMP echo */
    {"echo_req4", SP_LINK_RAW, pkt_echo_req4, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = P4, .dst = T4, .ttl = 64,
     .proto = SP_PROTO_ICMP, .ip_id = 0xbeef, .payload_len = 16, .icmp_type = 8,
     .icmp_id = 0x4242, .icmp_seq = 7},
    {"echo_rep4", SP_LINK_RAW, pkt_echo_rep4, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = T4, .dst = P4, .ttl = 57,
     .proto = SP_PROTO_ICMP, .ip_id = 0x0a0b, .payload_len = 16, .icmp_type = 0,
     .icmp_id = 0x4242, .icmp_seq = 7},
    {"echo_req6", SP_LINK_RAW, pkt_echo_req6, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = P6, .dst = T6, .ttl = 64,
     .proto = SP_PROTO_ICMP6, .payload_len = 16, .icmp_type = 128,
     .icmp_id = 0x4243, .icmp_seq = 9},
    {"echo_rep6", SP_LINK_RAW, pkt_echo_rep6, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = T6, .dst = P6, .ttl = 55,
     .proto = SP_PROTO_ICMP6, .payload_len = 16, .icmp_type = 129,
     .icmp_id = 0x4243, .icmp_seq = 9},

    /* ICMP errors and their quotes */
    {"unreach_port_full", SP_LINK_RAW, pkt_unreach_port_full, SP_DECODE_OK,
     HAVE_ERR, .src = T4, .dst = P4, .ttl = 57, .tos = 0xc0,
     .proto = SP_PROTO_ICMP, .ip_id = 0x7777, .payload_len = 40, .icmp_type = 3,
     .icmp_code = 3,
     .in = {QUOTED_SYN, .ttl = 52, .tcp_flags = SP_TCP_SYN, .l4_len = 20}},
    {"unreach_host_8", SP_LINK_RAW, pkt_unreach_host_8, SP_DECODE_OK, HAVE_ERR,
     .src = R4, .dst = P4, .ttl = 250, .proto = SP_PROTO_ICMP, .ip_id = 0x0101,
     .payload_len = 28, .icmp_type = 3, .icmp_code = 1,
     .in = {QUOTED_SYN, .ttl = 52, .l4_len = 8}},
    {"timex_udp", SP_LINK_RAW, pkt_timex_udp, SP_DECODE_OK, HAVE_ERR, .src = R4,
     .dst = P4, .ttl = 254, .proto = SP_PROTO_ICMP, .ip_id = 0x0202,
     .payload_len = 28, .icmp_type = 11,
     .in = {.src = P4,
            .dst = T4,
            .ttl = 1,
            .proto = SP_PROTO_UDP,
            .ip_id = 0x2222,
            .sport = 54321,
            .dport = 33435,
            .l4_len = 8}},
    /* RFC 4884: the inner total length cuts off padding and extensions */
    {"timex_ext", SP_LINK_RAW, pkt_timex_ext, SP_DECODE_OK, HAVE_ERR, .src = R4,
     .dst = P4, .ttl = 254, .proto = SP_PROTO_ICMP, .ip_id = 0x0606,
     .payload_len = 136, .icmp_type = 11,
     .in = {.src = P4,
            .dst = T4,
            .ttl = 1,
            .proto = SP_PROTO_UDP,
            .ip_id = 0x2223,
            .sport = 54321,
            .dport = 33436,
            .l4_len = 8}},
    {"unreach_admin_syn", SP_LINK_RAW, pkt_unreach_admin_syn, SP_DECODE_OK,
     HAVE_ERR, .src = R4, .dst = P4, .ttl = 253, .proto = SP_PROTO_ICMP,
     .ip_id = 0x0303, .payload_len = 60, .icmp_type = 3, .icmp_code = 13,
     .in = {QUOTED_SYN, .ttl = 64, .tcp_flags = SP_TCP_SYN, .l4_len = 40}},
    {"fragneeded", SP_LINK_RAW, pkt_fragneeded, SP_DECODE_OK, HAVE_ERR,
     .src = R4, .dst = P4, .ttl = 253, .proto = SP_PROTO_ICMP, .ip_id = 0x0404,
     .payload_len = 28, .icmp_type = 3, .icmp_code = 4, .icmp_mtu = 1400,
     .in = {QUOTED_SYN, .ttl = 64, .l4_len = 8}},
    {"unreach6_port", SP_LINK_RAW, pkt_unreach6_port, SP_DECODE_OK, HAVE_ERR,
     .src = T6, .dst = P6, .ttl = 61, .proto = SP_PROTO_ICMP6,
     .payload_len = 60, .icmp_type = 1, .icmp_code = 4,
     .in = {.src = P6,
            .dst = T6,
            .ttl = 61,
            .proto = SP_PROTO_TCP,
            .sport = 40001,
            .dport = 22,
            .seq = 0x55667788,
            .tcp_flags = SP_TCP_SYN,
            .l4_len = 20}},
    {"timex6_udp", SP_LINK_RAW, pkt_timex6_udp, SP_DECODE_OK, HAVE_ERR,
     .src = R6, .dst = P6, .ttl = 63, .proto = SP_PROTO_ICMP6,
     .payload_len = 72, .icmp_type = 3,
     .in = {.src = P6,
            .dst = T6,
            .ttl = 1,
            .proto = SP_PROTO_UDP,
            .sport = 54321,
            .dport = 33435,
            .l4_len = 32}},
    /* the quoted packet says 1440 bytes, 88 are quoted: not truncation */
    {"toobig6", SP_LINK_RAW, pkt_toobig6, SP_DECODE_OK, HAVE_ERR, .src = R6,
     .dst = P6, .ttl = 63, .proto = SP_PROTO_ICMP6, .payload_len = 88,
     .icmp_type = 2, .icmp_mtu = 1280,
     .in = {.src = P6,
            .dst = T6,
            .ttl = 64,
            .proto = SP_PROTO_TCP,
            .sport = 40001,
            .dport = 22,
            .seq = 0x55667788,
            .tcp_flags = SP_TCP_PSH | SP_TCP_ACK,
            .l4_len = 48}},
    /* errors whose quote is missing, too short or not IPv4 */
    {"icmp_noquote", SP_LINK_RAW, pkt_icmp_noquote, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = R4, .dst = P4, .ttl = 254,
     .proto = SP_PROTO_ICMP, .ip_id = 5, .icmp_type = 11},
    {"unreach_quote10", SP_LINK_RAW, pkt_unreach_quote10, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = R4, .dst = P4, .ttl = 250,
     .proto = SP_PROTO_ICMP, .ip_id = 0x0101, .payload_len = 10, .icmp_type = 3,
     .icmp_code = 1},
    {"unreach_badquote", SP_LINK_RAW, pkt_unreach_badquote, SP_DECODE_OK,
     SP_HAVE_IP | SP_HAVE_ICMP, .src = R4, .dst = P4, .ttl = 250,
     .proto = SP_PROTO_ICMP, .ip_id = 0x0101, .payload_len = 28, .icmp_type = 3,
     .icmp_code = 1},

    /* broken packets */
    {"ihl4", SP_LINK_RAW, pkt_ihl4, SP_DECODE_INVALID, 0, .only_result = true},
    {"ihl15_short", SP_LINK_RAW, pkt_ihl15_short, SP_DECODE_TRUNCATED, 0,
     .only_result = true},
    {"totlen_small", SP_LINK_RAW, pkt_totlen_small, SP_DECODE_INVALID, 0,
     .only_result = true},
    {"doff3", SP_LINK_RAW, pkt_doff3, SP_DECODE_INVALID, SP_HAVE_IP,
     .only_result = true},
    /* data offset 15 (60 bytes) in a 20-byte segment */
    {"doff15", SP_LINK_RAW, pkt_doff15, SP_DECODE_INVALID, SP_HAVE_IP,
     .only_result = true},
    {"version5_raw", SP_LINK_RAW, pkt_version5, SP_DECODE_INVALID, 0,
     .only_result = true},
    {"version5_ipv4", SP_LINK_IPV4, pkt_version5, SP_DECODE_INVALID, 0,
     .only_result = true},
    {"v6_on_ipv4_link", SP_LINK_IPV4, pkt_raw_rst6, SP_DECODE_INVALID, 0,
     .only_result = true},
    {"v4_on_ipv6_link", SP_LINK_IPV6, pkt_raw_rstack, SP_DECODE_INVALID, 0,
     .only_result = true},
    {"udp_short", SP_LINK_RAW, pkt_udp_short, SP_DECODE_INVALID, SP_HAVE_IP,
     .only_result = true},
    {"icmp_short", SP_LINK_RAW, pkt_icmp_short, SP_DECODE_INVALID, SP_HAVE_IP,
     .only_result = true},
    /* a hop-by-hop header of 88 bytes in a 28-byte payload */
    {"ip6ext_bad", SP_LINK_RAW, pkt_ip6ext_bad, SP_DECODE_INVALID, SP_HAVE_IP,
     .only_result = true},
    /* total length 0xffff, 40 bytes captured: all headers are there */
    {"iplen_lies", SP_LINK_RAW, pkt_iplen_lies, SP_DECODE_TRUNCATED, HAVE_TCP4,
     RSTACK_FIELDS, .payload_len = 65495},

    /* no IP */
    {"arp", SP_LINK_ETHER, pkt_arp, SP_DECODE_OTHER, 0, .only_result = true},
    {"sll_arp", SP_LINK_SLL, pkt_sll_arp, SP_DECODE_OTHER, 0,
     .only_result = true},
    {"vlan3", SP_LINK_ETHER, pkt_vlan3, SP_DECODE_OTHER, 0,
     .only_result = true},
    {"null_af7", SP_LINK_NULL, pkt_null_af7, SP_DECODE_OTHER, 0,
     .only_result = true},
    /* DLT_LOOP is network order only */
    {"loop_le", SP_LINK_LOOP, pkt_loop_le, SP_DECODE_OTHER, 0,
     .only_result = true},
};

enum { NCASES = sizeof(cases) / sizeof(cases[0]), MAX_PKT = 256 };

/* ---- helpers ------------------------------------------------------------ */

static size_t load(const struct dcase *t, uint8_t *buf)
{
    long n = sp_test_hex(t->hex, buf, MAX_PKT);

    CU_ASSERT_FATAL(n >= 0);
    return (size_t)n;
}

/* Decodes len bytes from a heap copy of exactly that size (for ASan). */
static enum sp_decode_result decode_copy(enum sp_link link,
                                         const uint8_t *bytes, size_t len,
                                         struct sp_packet *p)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    enum sp_decode_result r;

    CU_ASSERT_FATAL(copy != NULL);
    if (len > 0)
        memcpy(copy, bytes, len);
    r = sp_decode(link, len > 0 ? copy : NULL, len, p);
    free(copy);
    return r;
}

static void expect_u(const char *name, const char *field,
                     unsigned long long got, unsigned long long want)
{
    if (got == want) {
        CU_PASS(field);
        return;
    }
    printf("\n    %s: %s = %llu (0x%llx), want %llu (0x%llx)", name, field, got,
           got, want, want);
    CU_FAIL(field);
}

static void expect_addr(const char *name, const char *field,
                        const struct sp_addr *got, const char *want)
{
    struct sp_addr w;
    char gs[SP_ADDR_STRLEN];

    memset(&w, 0, sizeof(w));
    if (want != NULL)
        CU_ASSERT_FATAL(sp_addr_parse(want, &w));
    if (sp_addr_eq(got, &w)) {
        CU_PASS(field);
        return;
    }
    printf("\n    %s: %s = %s, want %s", name, field,
           sp_addr_str(got, gs, sizeof(gs)), want != NULL ? want : "-");
    CU_FAIL(field);
}

#define EXPECT(field) expect_u(t->name, #field, p->field, t->field)
#define EXPECT_IN(field)                                                       \
    expect_u(t->name, "inner." #field, p->inner.field, t->in.field)

static void check_fields(const struct dcase *t, const struct sp_packet *p)
{
    expect_addr(t->name, "src", &p->src, t->src);
    expect_addr(t->name, "dst", &p->dst, t->dst);
    EXPECT(ttl);
    EXPECT(tos);
    EXPECT(proto);
    EXPECT(ip_id);
    EXPECT(frag_later);
    EXPECT(more_frags);
    EXPECT(sport);
    EXPECT(dport);
    EXPECT(seq);
    EXPECT(ack);
    EXPECT(tcp_flags);
    EXPECT(window);
    EXPECT(tcp_optlen);
    EXPECT(payload_len);
    EXPECT(icmp_type);
    EXPECT(icmp_code);
    EXPECT(icmp_id);
    EXPECT(icmp_seq);
    EXPECT(icmp_mtu);
    expect_addr(t->name, "inner.src", &p->inner.src, t->in.src);
    expect_addr(t->name, "inner.dst", &p->inner.dst, t->in.dst);
    EXPECT_IN(ttl);
    EXPECT_IN(proto);
    EXPECT_IN(ip_id);
    EXPECT_IN(sport);
    EXPECT_IN(dport);
    EXPECT_IN(seq);
    EXPECT_IN(tcp_flags);
    EXPECT_IN(icmp_type);
    EXPECT_IN(icmp_code);
    EXPECT_IN(icmp_id);
    EXPECT_IN(icmp_seq);
    EXPECT_IN(l4_len);
}

/* ---- tests -------------------------------------------------------------- */

static void test_cursor_reads(void)
{
    static const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    struct sp_cur c, sub;
    uint32_t v32 = 0xdeadbeef;
    uint16_t v16 = 0xbeef;
    uint8_t v8 = 0xee, out[8];

    sp_cur_init(&c, b, sizeof(b));
    CU_ASSERT_TRUE(sp_cur_be16(&c, &v16));
    CU_ASSERT_EQUAL(v16, 0x1234);
    CU_ASSERT_FALSE(sp_cur_be32(&c, &v32)); /* 3 left */
    CU_ASSERT_EQUAL(v32, 0xdeadbeef);
    CU_ASSERT_EQUAL(c.off, 2);
    CU_ASSERT_EQUAL(sp_cur_left(&c), 3);
    CU_ASSERT_TRUE(sp_cur_peek_u8(&c, &v8));
    CU_ASSERT_EQUAL(v8, 0x56);
    CU_ASSERT_EQUAL(c.off, 2);

    sp_cur_init(&c, b, sizeof(b));
    CU_ASSERT_TRUE(sp_cur_be32(&c, &v32));
    CU_ASSERT_EQUAL(v32, 0x12345678);
    sp_cur_init(&c, b, sizeof(b));
    CU_ASSERT_TRUE(sp_cur_le32(&c, &v32));
    CU_ASSERT_EQUAL(v32, 0x78563412);
    CU_ASSERT_TRUE(sp_cur_u8(&c, &v8));
    CU_ASSERT_EQUAL(v8, 0x9a);
    CU_ASSERT_FALSE(sp_cur_u8(&c, &v8));
    CU_ASSERT_FALSE(sp_cur_peek_u8(&c, &v8));
    CU_ASSERT_FALSE(sp_cur_be16(&c, &v16));
    CU_ASSERT_FALSE(sp_cur_le32(&c, &v32));
    CU_ASSERT_EQUAL(v8, 0x9a);
    CU_ASSERT_EQUAL(v32, 0x78563412);
    CU_ASSERT_TRUE(sp_cur_skip(&c, 0));
    CU_ASSERT_FALSE(sp_cur_skip(&c, 1));
    CU_ASSERT_EQUAL(sp_cur_left(&c), 0);

    sp_cur_init(&c, b, sizeof(b));
    memset(out, 0xaa, sizeof(out));
    CU_ASSERT_FALSE(sp_cur_bytes(&c, out, 6));
    CU_ASSERT_EQUAL(out[0], 0xaa);
    CU_ASSERT_TRUE(sp_cur_bytes(&c, out, 5));
    CU_ASSERT_EQUAL(memcmp(out, b, 5), 0);
    CU_ASSERT_FALSE(sp_cur_skip(&c, SIZE_MAX));

    /* sub-cursors start at the parent's offset and are clamped */
    sp_cur_init(&c, b, sizeof(b));
    CU_ASSERT_TRUE(sp_cur_skip(&c, 1));
    CU_ASSERT_TRUE(sp_cur_sub(&c, 2, &sub));
    CU_ASSERT_EQUAL(sub.len, 2);
    CU_ASSERT_EQUAL(c.off, 1);
    CU_ASSERT_TRUE(sp_cur_be16(&sub, &v16));
    CU_ASSERT_EQUAL(v16, 0x3456);
    CU_ASSERT_FALSE(sp_cur_u8(&sub, &v8));
    CU_ASSERT_FALSE(sp_cur_sub(&c, 100, &sub));
    CU_ASSERT_EQUAL(sub.len, 4);
    CU_ASSERT_FALSE(sp_cur_sub(&c, SIZE_MAX, &sub));
    CU_ASSERT_EQUAL(sub.len, 4);

    /* an empty cursor over no buffer */
    sp_cur_init(&c, NULL, 10);
    CU_ASSERT_EQUAL(sp_cur_left(&c), 0);
    CU_ASSERT_FALSE(sp_cur_u8(&c, &v8));
    CU_ASSERT_TRUE(sp_cur_sub(&c, 0, &sub));
    CU_ASSERT_EQUAL(sub.len, 0);
}

static void test_decode_table(void)
{
    uint8_t buf[MAX_PKT];

    for (size_t i = 0; i < NCASES; i++) {
        const struct dcase *t = &cases[i];
        size_t n = load(t, buf);
        struct sp_packet pkt, *p = &pkt;
        enum sp_decode_result r;

        r = decode_copy(t->link, buf, n, p);
        expect_u(t->name, "result", r, t->res);
        expect_u(t->name, "have", p->have, t->have);
        expect_u(t->name, "caplen", p->caplen, n);
        if (!t->only_result)
            check_fields(t, p);
    }
}

/* Every OK packet cut at each shorter length is TRUNCATED, never OK. */
static void test_truncation_sweep(void)
{
    uint8_t buf[MAX_PKT];
    unsigned swept = 0;

    for (size_t i = 0; i < NCASES; i++) {
        const struct dcase *t = &cases[i];
        size_t n = load(t, buf);

        if (t->res != SP_DECODE_OK)
            continue;
        for (size_t len = 0; len < n; len++) {
            struct sp_packet p;
            enum sp_decode_result r = decode_copy(t->link, buf, len, &p);
            /* cutting only the link padding leaves the packet whole */
            enum sp_decode_result want =
                len >= n - t->pad ? SP_DECODE_OK : SP_DECODE_TRUNCATED;

            if (r != want)
                printf("\n    %s cut to %zu of %zu: %s, want %s", t->name, len,
                       n, sp_decode_result_name(r),
                       sp_decode_result_name(want));
            CU_ASSERT_EQUAL(r, want);
            swept++;
        }
    }
    printf("\n    %u cut packets: ", swept);
}

/* Small fixed-seed PRNG (xorshift64*), so runs are reproducible. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void check_sane(const struct sp_packet *p, enum sp_decode_result r,
                       size_t len)
{
    CU_ASSERT_TRUE(r == SP_DECODE_OK || r == SP_DECODE_TRUNCATED ||
                   r == SP_DECODE_INVALID || r == SP_DECODE_OTHER);
    CU_ASSERT_EQUAL(p->caplen, len);
    if (r == SP_DECODE_OK)
        CU_ASSERT_TRUE((p->have & SP_HAVE_IP) != 0);
    if (r == SP_DECODE_OTHER)
        CU_ASSERT_EQUAL(p->have, 0);
    if (p->have & SP_HAVE_TCP)
        CU_ASSERT_EQUAL(p->proto, SP_PROTO_TCP);
    if (p->have & SP_HAVE_UDP)
        CU_ASSERT_EQUAL(p->proto, SP_PROTO_UDP);
    if (p->have & SP_HAVE_INNER_L4)
        CU_ASSERT_TRUE((p->have & SP_HAVE_INNER) != 0 && p->inner.l4_len >= 8);
    if (p->have & SP_HAVE_INNER)
        CU_ASSERT_TRUE((p->have & SP_HAVE_ICMP) != 0);
    CU_ASSERT_TRUE(p->inner.l4_len <= len);
}

/* Random byte changes and cuts; the sanitizers do the real checking. */
static void test_random_damage(void)
{
    static const enum sp_link links[] = {
        SP_LINK_ETHER, SP_LINK_SLL,  SP_LINK_SLL2, SP_LINK_RAW,
        SP_LINK_IPV4,  SP_LINK_IPV6, SP_LINK_NULL, SP_LINK_LOOP,
    };
    const uint64_t seed = 0x5eed5eed2024ULL;
    unsigned counts[4] = {0, 0, 0, 0};
    uint8_t buf[MAX_PKT];
    enum { ROUNDS = 200000 };

    rng_state = seed;
    printf("\n    seed 0x%" PRIx64 ", %d rounds", seed, (int)ROUNDS);
    for (unsigned i = 0; i < ROUNDS; i++) {
        const struct dcase *t = &cases[rng_next() % NCASES];
        size_t n = load(t, buf), len = n;
        unsigned flips = 1 + (unsigned)(rng_next() % 4);
        enum sp_link link = t->link;
        struct sp_packet p;
        enum sp_decode_result r;

        if (n == 0)
            continue;
        for (unsigned f = 0; f < flips; f++) {
            uint64_t x = rng_next();
            buf[x % n] = (uint8_t)(x >> 32);
        }
        if (rng_next() % 4 == 0)
            len = (size_t)(rng_next() % (n + 1));
        if (rng_next() % 8 == 0)
            link = links[rng_next() % (sizeof(links) / sizeof(links[0]))];
        r = decode_copy(link, buf, len, &p);
        check_sane(&p, r, len);
        counts[r <= SP_DECODE_OTHER ? r : 0]++;
    }
    printf("\n    ok %u, truncated %u, invalid %u, other %u: ", counts[0],
           counts[1], counts[2], counts[3]);
}

static void test_empty_input(void)
{
    static const enum sp_link links[] = {
        SP_LINK_ETHER, SP_LINK_SLL,  SP_LINK_SLL2, SP_LINK_RAW,
        SP_LINK_IPV4,  SP_LINK_IPV6, SP_LINK_NULL, SP_LINK_LOOP,
    };
    struct sp_packet p;

    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        memset(&p, 0xff, sizeof(p));
        CU_ASSERT_EQUAL(sp_decode(links[i], NULL, 0, &p), SP_DECODE_TRUNCATED);
        CU_ASSERT_EQUAL(p.have, 0);
        CU_ASSERT_EQUAL(p.caplen, 0);
        CU_ASSERT_EQUAL(p.ts_ns, 0);
    }
    /* a non-empty length with no buffer reads nothing */
    CU_ASSERT_EQUAL(sp_decode(SP_LINK_RAW, NULL, 60, &p), SP_DECODE_TRUNCATED);
}

static const struct dcase *find_case(const char *name)
{
    for (size_t i = 0; i < NCASES; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    CU_FAIL_FATAL("no such case");
    return NULL;
}

static enum sp_icmp_kind kind_of(const char *name)
{
    const struct dcase *t = find_case(name);
    uint8_t buf[MAX_PKT];
    struct sp_packet p;
    size_t n = load(t, buf);

    sp_decode(t->link, buf, n, &p);
    return sp_icmp_kind(&p);
}

static void test_icmp_kind(void)
{
    struct sp_packet p;

    CU_ASSERT_EQUAL(kind_of("echo_req4"), SP_ICMP_ECHO_REQUEST);
    CU_ASSERT_EQUAL(kind_of("echo_rep4"), SP_ICMP_ECHO_REPLY);
    CU_ASSERT_EQUAL(kind_of("echo_req6"), SP_ICMP_ECHO_REQUEST);
    CU_ASSERT_EQUAL(kind_of("echo_rep6"), SP_ICMP_ECHO_REPLY);
    CU_ASSERT_EQUAL(kind_of("unreach_port_full"), SP_ICMP_UNREACH);
    CU_ASSERT_EQUAL(kind_of("unreach_admin_syn"), SP_ICMP_UNREACH);
    CU_ASSERT_EQUAL(kind_of("fragneeded"), SP_ICMP_UNREACH);
    CU_ASSERT_EQUAL(kind_of("timex_udp"), SP_ICMP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(kind_of("unreach6_port"), SP_ICMP_UNREACH);
    CU_ASSERT_EQUAL(kind_of("timex6_udp"), SP_ICMP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(kind_of("toobig6"), SP_ICMP_TOO_BIG);
    CU_ASSERT_EQUAL(kind_of("eth_synack"), SP_ICMP_NONE);
    CU_ASSERT_EQUAL(kind_of("icmp_short"), SP_ICMP_NONE);

    memset(&p, 0, sizeof(p));
    p.have = SP_HAVE_IP | SP_HAVE_ICMP;
    p.proto = SP_PROTO_ICMP;
    p.icmp_type = 12; /* parameter problem */
    CU_ASSERT_EQUAL(sp_icmp_kind(&p), SP_ICMP_OTHER);
    p.icmp_type = 2; /* unassigned in v4, too big in v6 */
    CU_ASSERT_EQUAL(sp_icmp_kind(&p), SP_ICMP_OTHER);
    p.proto = SP_PROTO_ICMP6;
    CU_ASSERT_EQUAL(sp_icmp_kind(&p), SP_ICMP_TOO_BIG);
    p.icmp_type = 135; /* neighbour solicitation */
    CU_ASSERT_EQUAL(sp_icmp_kind(&p), SP_ICMP_OTHER);
    p.have = SP_HAVE_IP;
    CU_ASSERT_EQUAL(sp_icmp_kind(&p), SP_ICMP_NONE);
}

static void test_packet_is_tcp(void)
{
    static const struct {
        const char *name;
        bool tcp;
    } t[] = {
        {"eth_syn", true},    {"sll2_synack6", true},
        {"iplen_lies", true}, {"frag4_later", false},
        {"udp4", false},      {"unreach_port_full", false},
        {"doff3", false},     {"ip6ext_9", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const struct dcase *c = find_case(t[i].name);
        uint8_t buf[MAX_PKT];
        struct sp_packet p;
        size_t n = load(c, buf);

        sp_decode(c->link, buf, n, &p);
        CU_ASSERT_EQUAL(sp_packet_is_tcp(&p), t[i].tcp);
    }
}

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(sp_decode_result_name(SP_DECODE_OK), "ok");
    CU_ASSERT_STRING_EQUAL(sp_decode_result_name(SP_DECODE_TRUNCATED),
                           "truncated");
    CU_ASSERT_STRING_EQUAL(sp_decode_result_name(SP_DECODE_INVALID), "invalid");
    CU_ASSERT_STRING_EQUAL(sp_decode_result_name(SP_DECODE_OTHER), "other");
    CU_ASSERT_STRING_EQUAL(sp_decode_result_name((enum sp_decode_result)99),
                           "unknown");
    CU_ASSERT_STRING_EQUAL(sp_link_name(SP_LINK_ETHER), "ethernet");
    CU_ASSERT_STRING_EQUAL(sp_link_name(SP_LINK_SLL2), "linux-sll2");
    CU_ASSERT_STRING_EQUAL(sp_link_name(SP_LINK_LOOP), "loop");
    CU_ASSERT_STRING_EQUAL(sp_link_name((enum sp_link)99), "unknown");
}

int main(void)
{
    static const struct sp_test_case tests[] = {
        {"cursor_reads", test_cursor_reads},
        {"decode_table", test_decode_table},
        {"truncation_sweep", test_truncation_sweep},
        {"random_damage", test_random_damage},
        {"empty_input", test_empty_input},
        {"icmp_kind", test_icmp_kind},
        {"packet_is_tcp", test_packet_is_tcp},
        {"names", test_names},
    };
    return sp_test_run("decode", tests, sizeof(tests) / sizeof(tests[0]));
}
