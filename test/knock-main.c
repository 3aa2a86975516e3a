/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * knock-main — test driver for the knock verb until the knockwatch binary routes
 * "knockwatch knock" to it: "knock-main ARGS" behaves as "knockwatch knock ARGS".
 */
#include "verbs.h"

int main(int argc, char *argv[]) {
        argv[0] = (char *) "knock";
        return verb_knock(argc, argv);
}
