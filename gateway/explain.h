/*
 * explain: `regward explain`, why a pull would be admitted or refused.
 */
#ifndef REGWARD_EXPLAIN_H
#define REGWARD_EXPLAIN_H

/* argv after "explain". Exit status: 0 served, 1 refused, 2 trouble. */
int explain_main(int argc, char **argv);

#endif /* REGWARD_EXPLAIN_H */
