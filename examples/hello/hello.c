/* The payload of the hello example: a static binary, so the image needs
 * nothing but this one file (FROM scratch). */
#include <stdio.h>

int main(void) {
    puts("Hello from a minibuild image!");
    return 0;
}
