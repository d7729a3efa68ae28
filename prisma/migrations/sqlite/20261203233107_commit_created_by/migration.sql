-- AlterTable
ALTER TABLE "Commit" ADD COLUMN "createdBy" TEXT;
