import v8 from 'node:v8';

// Imported first by the bin. Every command is a fork of this process, and a
// fork copies the parent's anonymous memory mappings: a young generation that
// never grows past its initial size keeps the heap (and so each spawn) small,
// ~30 MB less RSS under load, at no measurable cost to throughput.
v8.setFlagsFromString('--semi-space-growth-factor=1');
