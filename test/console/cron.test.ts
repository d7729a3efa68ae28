import { describe, expect, it } from 'vitest';
import { cronInWords, describeCron, ordinal } from '../../console/src/components/job/cron.ts';

// The console's words for job schedules: the common cron shapes read as a person would say them,
// and everything else shown as the pattern itself rather than guessed at.

describe('cronInWords', () => {
  it.each([
    ['* * * * *', 'every minute'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['0 */15 * * * *', 'every 15 minutes'],
    ['* * * * * *', 'every second'],
    ['*/10 * * * * *', 'every 10 seconds'],
    ['5 * * * *', 'every hour at :05'],
    ['0,30 * * * *', 'every hour at :00 and :30'],
    ['0 */6 * * *', 'every 6 hours at :00'],
    ['0 2 * * *', 'every day at 02:00 UTC'],
    ['0 0 2 * * *', 'every day at 02:00 UTC'],
    ['30 15 2 * * *', 'every day at 02:15:30 UTC'],
    ['0 3,15 * * *', 'every day at 03:00 and 15:00 UTC'],
    ['30 9 * * 1', 'every Monday at 09:30 UTC'],
    ['30 9 * * MON', 'every Monday at 09:30 UTC'],
    ['0 8 * * 1-5', 'every weekday (Monday to Friday) at 08:00 UTC'],
    ['0 8 * * mon-fri', 'every weekday (Monday to Friday) at 08:00 UTC'],
    ['0 10 * * 0,6', 'every Sunday and Saturday at 10:00 UTC'],
    ['0 10 * * 7', 'every Sunday at 10:00 UTC'],
    ['0 10 * * 1,3,5', 'every Monday, Wednesday and Friday at 10:00 UTC'],
    ['0 10 * * 0-6', 'every day at 10:00 UTC'],
    ['0 0 1 * *', 'every month on the 1st at 00:00 UTC'],
    ['0 6 1,15 * *', 'every month on the 1st and 15th at 06:00 UTC'],
    ['0 0 1 1 *', 'every year on 1 January at 00:00 UTC'],
    ['15 4 22 DEC *', 'every year on 22 December at 04:15 UTC'],
    ['  0  2 * * *  ', 'every day at 02:00 UTC'],
  ])('%s → %s', (pattern, words) => {
    expect(cronInWords(pattern)).toBe(words);
  });

  it.each([
    // Uncommon shapes: steps over ranges, both day fields, last-day and nth-weekday forms, odd steps.
    '0-30/5 * * * *',
    '*/7 * * * *',
    '0 */5 * * *',
    '0 2 1 * 1',
    '0 2 L * *',
    '0 2 * * 5#2',
    '0 2 * * 5L',
    '* 2 * * *',
    '*/15 * * * 1',
    '30 * * * * *',
    '0 1,2,3,4,5 * * *',
    // Out of range or malformed: the server refuses these; the console does not put them in words.
    '60 2 * * *',
    '0 24 * * *',
    '0 2 32 * *',
    '0 2 * 13 *',
    '0 2 * * 8',
    '0 5-2 * * *',
    '@daily',
    '0 2 * *',
    '0 0 2 * * * 2030',
    '',
  ])('%s has no words', (pattern) => {
    expect(cronInWords(pattern)).toBeNull();
  });
});

describe('describeCron', () => {
  it('falls back to the pattern itself', () => {
    expect(describeCron('0 2 * * *')).toBe('every day at 02:00 UTC');
    expect(describeCron('0 2 L * *')).toBe('0 2 L * *');
  });
});

describe('ordinal', () => {
  it.each([
    [1, '1st'],
    [2, '2nd'],
    [3, '3rd'],
    [4, '4th'],
    [11, '11th'],
    [12, '12th'],
    [13, '13th'],
    [21, '21st'],
    [22, '22nd'],
    [23, '23rd'],
    [31, '31st'],
  ])('%i → %s', (n, text) => {
    expect(ordinal(n)).toBe(text);
  });
});
