// The agent's version, reported in status and health messages.
import { PACKAGE_VERSION } from './package-root.js';

export const VERSION = PACKAGE_VERSION;
