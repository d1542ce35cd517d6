/**
 * zod/mini ships without a locale: every issue would read just "Invalid input". Classic zod
 * registered English on first use, and config errors, state-store errors and tests quote those
 * messages, so every module that defines a schema imports this file for its side effect.
 * `zod/locales` rather than `z.locales`: the namespace drags all ~60 locales (270 KB) into a bundle.
 */
import { en } from "zod/locales";
import * as z from "zod/mini";

// Only when unset, as classic zod did: a locale chosen elsewhere wins.
if (!z.config().localeError) z.config(en());
