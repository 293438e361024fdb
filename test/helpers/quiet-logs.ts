// Tests keep their output readable: the agent's JSON logs go nowhere unless VIGIL_TEST_LOGS=1.
import { pino } from 'pino';
import { setRootLogger } from '../../agent/log/logger.js';

if (!process.env.VIGIL_TEST_LOGS) setRootLogger(pino({ level: 'silent' }));
