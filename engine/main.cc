// The `epistream` binary: parses the command line and hands over to a command.
#include "topologies/cli.h"

int main(int argc, char** argv) { return epistream::RunCli(argc, argv); }
