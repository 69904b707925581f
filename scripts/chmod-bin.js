#!/usr/bin/env node
// tsc does not keep the executable bit; the CLI entry point needs it.
'use strict';
const fs = require('fs');
const path = require('path');
const bin = path.join(__dirname, '..', 'dist', 'cli', 'ctrack.js');
if (fs.existsSync(bin)) fs.chmodSync(bin, 0o755);
