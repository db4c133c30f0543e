/**
 * The entry module Cloud Functions loads (`--entry-point bootstrap`): one HTTP function
 * serving every endpoint of the bootstrap data API. A bad environment throws here, so
 * the instance fails at start with the variable named, not at its first request.
 */
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from './config.ts';
import { createBootstrapFunction } from './bootstrap-function.ts';
import { FUNCTION_NAME } from './constants.ts';

http(FUNCTION_NAME, createBootstrapFunction(loadConfig(process.env)).handler);
