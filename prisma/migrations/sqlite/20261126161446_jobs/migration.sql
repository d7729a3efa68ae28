-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "createdBy" TEXT NOT NULL DEFAULT '',
    "apiKeyId" TEXT,
    "cron" TEXT,
    "startTime" DATETIME,
    "endTime" DATETIME,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "nextRunAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Job_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Execution" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'INITIALIZING',
    "finalStatus" TEXT,
    "args" JSONB,
    "trigger" TEXT NOT NULL,
    "scheduledAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "progress" REAL NOT NULL DEFAULT 0,
    "progressMessage" TEXT,
    "checkpoint" JSONB,
    "runner" TEXT,
    "heartbeatAt" DATETIME,
    "stopRequestedAt" DATETIME,
    "longRunningAlerted" BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT "Execution_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ExecutionLog" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "executionId" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "line" TEXT NOT NULL,
    CONSTRAINT "ExecutionLog_executionId_fkey" FOREIGN KEY ("executionId") REFERENCES "Execution" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "Job_cron_idx" ON "Job"("cron");

-- CreateIndex
CREATE UNIQUE INDEX "Job_projectId_name_key" ON "Job"("projectId", "name");

-- CreateIndex
CREATE INDEX "Execution_jobId_createdAt_idx" ON "Execution"("jobId", "createdAt");

-- CreateIndex
CREATE INDEX "Execution_state_idx" ON "Execution"("state");

-- CreateIndex
CREATE UNIQUE INDEX "Execution_jobId_scheduledAt_key" ON "Execution"("jobId", "scheduledAt");

-- CreateIndex
CREATE INDEX "ExecutionLog_executionId_id_idx" ON "ExecutionLog"("executionId", "id");
