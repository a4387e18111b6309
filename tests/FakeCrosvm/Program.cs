// Placeholder: the fake crosvm is being written.
return 0;
