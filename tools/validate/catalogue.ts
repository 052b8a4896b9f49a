// Loads every module that registers rules, so the catalogue is complete
// wherever it is read. Each module calls registerRules() at import time.
import "./rules.js";
import "./ory/rules.js";
