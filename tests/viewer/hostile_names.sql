-- hostile_names.sql - turns a copy of the facts.db fixture into a trace
-- whose names attack a terminal, for ortho-top's tests (top_batch.sh,
-- top_tmux_replay.sh): escape sequences (ESC [ 2 J clears the screen,
-- ESC ] 0 ; ... BEL sets the window title), a C1 CSI (char(155) is U+009B)
-- and bytes that are not UTF-8, in function, module and thread names, a
-- call and the command line. Every viewer must show them as escapes.
UPDATE stacks SET site_function = 'leak_here' || char(27) || '[2J' || char(27) || ']0;pwned'
  || char(7) || char(155) WHERE site_function = 'leak_here';
UPDATE frames SET function = 'free_twice' || char(27) || '[2J' WHERE function = 'free_twice';
UPDATE frames SET module = CAST(x'2f6c69622f6576696c1b5b324aff2e736f' AS TEXT) WHERE level = 1;
-- "/bin/prog ESC[31mred \xff\xfe U+009B 2J"
UPDATE processes SET cmdline = CAST(x'2f62696e2f70726f67201b5b33316d726564fffe20c29b324a' AS TEXT);
UPDATE threads SET name = 'qw-freer' || char(27) || '[2J' WHERE name = 'qw-freer';
UPDATE corruption_events SET call = 'free' || char(27) || ']0;t' || char(7);
