// Child process for the SIGKILL lock test: takes the data-dir lock exactly as DataDirLock does
// (the test runs without a TypeScript loader in the child), prints "locked" and waits to be killed.
import Database from 'better-sqlite3';
import { join } from 'node:path';

const db = new Database(join(process.argv[2], 'amqpd.lock'), { timeout: 0 });
db.pragma('locking_mode = EXCLUSIVE');
db.exec('BEGIN EXCLUSIVE');
db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
db.exec('COMMIT');
process.stdout.write('locked\n');
setInterval(() => {}, 1000);
